// The EC2 client: the SDK loads only when a client is made (Pulumi serializes the provider's code), and
// throttling is retried by the SDK within the bound. A local HTTP server plays EC2's throttling answer.
// Not proven here: the backoff timings (the SDK's), or EC2's real token buckets (the throttling proxy's job).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { awsErrorCode, createEc2Client } from "../../provider/aws/client";
import "../../provider/aws/apply";
import "../../provider/aws/read";

const sdkLoaded = () => Object.keys(require.cache).some((file) => file.includes("@aws-sdk/client-ec2"));

const THROTTLED =
  '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>' +
  "<Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>";
const EMPTY_GROUPS =
  '<?xml version="1.0" encoding="UTF-8"?><DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
  "<requestId>r-2</requestId><securityGroupInfo/></DescribeSecurityGroupsResponse>";

let server: http.Server;
let url: string;
let requests = 0;
let throttleFirst = 0;
let lastAuthorization = "";

before(async () => {
  server = http.createServer((req, res) => {
    lastAuthorization = String(req.headers.authorization ?? "");
    req.resume();
    req.on("end", () => {
      requests++;
      const throttled = requests <= throttleFirst;
      res.writeHead(throttled ? 503 : 200, { "content-type": "text/xml" });
      res.end(throttled ? THROTTLED : EMPTY_GROUPS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
});

const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };

describe("createEc2Client", () => {
  it("loading the adapter does not load the AWS SDK; making a client does", async () => {
    assert.equal(sdkLoaded(), false);
    const client = await createEc2Client({ region: "us-east-1", endpoint: url, credentials });
    assert.equal(sdkLoaded(), true);
    client.destroy();
  });

  it("a profile (aws:profile) picks that profile's credentials from the shared files", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbc-sg-profile-"));
    const keys = [
      "AWS_SHARED_CREDENTIALS_FILE",
      "AWS_CONFIG_FILE",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_PROFILE",
    ];
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    // environment credentials would win over any profile: this test is about the profile alone
    for (const k of keys) delete process.env[k];
    fs.writeFileSync(
      path.join(dir, "credentials"),
      "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n" +
        "[stack-profile]\naws_access_key_id = AKIASTACKPROFILE\naws_secret_access_key = s\n",
    );
    fs.writeFileSync(path.join(dir, "config"), "");
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, "credentials");
    process.env.AWS_CONFIG_FILE = path.join(dir, "config");
    try {
      requests = 0;
      throttleFirst = 0;
      const client = await createEc2Client({ region: "us-east-1", endpoint: url, profile: "stack-profile" });
      await client.call("DescribeSecurityGroups", {});
      assert.match(lastAuthorization, /Credential=AKIASTACKPROFILE\//);
      client.destroy();
    } finally {
      for (const k of keys) {
        const v = saved[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("retries RequestLimitExceeded and succeeds within the bound", async () => {
    requests = 0;
    throttleFirst = 2;
    const client = await createEc2Client({ region: "us-east-1", endpoint: url, credentials, maxAttempts: 3 });
    const out = await client.call("DescribeSecurityGroups", {});
    assert.deepEqual(out.SecurityGroups, []);
    assert.equal(requests, 3);
    assert.equal(out.$metadata.attempts, 3);
    client.destroy();
  });

  it("gives up after maxAttempts with the throttling code", async () => {
    requests = 0;
    throttleFirst = 100;
    const client = await createEc2Client({ region: "us-east-1", endpoint: url, credentials, maxAttempts: 2 });
    const err = await client.call("DescribeSecurityGroups", {}).then(
      () => assert.fail("expected throttling"),
      (e: unknown) => e,
    );
    assert.equal(awsErrorCode(err), "RequestLimitExceeded");
    assert.equal(requests, 2);
    client.destroy();
  });
});
