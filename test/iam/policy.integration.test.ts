// The provider's EC2 read and apply paths run under iam-policy.json, enforced by moto's IAM: moto starts with
// INITIAL_NO_AUTH_ACTION_COUNT (setup requests are free), then /moto-api/reset-auth switches enforcement on for
// every later request. A private moto, not the shared sandbox: enforcement is process-wide.
// Not proven here: the policy's Resource ARNs and Conditions (moto authorizes EC2 requests against the resource
// "*" and ignores these conditions, so the test uses the policy's moto form: Resource "*", conditions kept but
// inert); those rest on the AWS documentation cited in the README.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { DeleteSecurityGroupCommand } from "@aws-sdk/client-ec2";
import { applyRuleChanges } from "../../provider/aws/apply";
import { awsErrorCode, createEc2Client, type Ec2Client } from "../../provider/aws/client";
import { readEc2Snapshot } from "../../provider/aws/read";
import type { DesiredRule } from "../../provider/aws/types";
import type { ExistingRule } from "../../provider/domain/model";
import { CLUSTER, DESCRIPTION, OWNER, seedWorld, type World } from "../aws/moto-fixture";
import { type Moto, startMoto } from "../sandbox/moto";
import { motoForm, policyActions, readPolicy } from "./policy";

// Generous: setup (4 IAM requests + the seeded world, about 20 EC2 requests) must fit; reset-auth ends it early.
const INITIAL_NO_AUTH_ACTION_COUNT = 200;

let moto: Moto;
let admin: Ec2Client;
let user: Ec2Client;
let world: World;

/** One IAM Query API request (moto routes it by the credential scope; the signature is not checked yet). */
async function iam(params: Record<string, string>): Promise<string> {
  const res = await fetch(`${moto.url}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization:
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ Version: "2010-05-08", ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action}: HTTP ${res.status} ${text}`);
  return text;
}

function xmlValue(xml: string, tag: string): string {
  const value = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1];
  if (value === undefined) throw new Error(`no <${tag}> in ${xml}`);
  return value;
}

before(async () => {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "lbc-iam-test-"));
  moto = await startMoto({
    logDir,
    env: { INITIAL_NO_AUTH_ACTION_COUNT: String(INITIAL_NO_AUTH_ACTION_COUNT) },
  });
  admin = await createEc2Client({
    region: "us-east-1",
    endpoint: moto.url,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
  });
  world = await seedWorld(admin);

  await iam({ Action: "CreateUser", UserName: "lbc-backend-sg" });
  const key = await iam({ Action: "CreateAccessKey", UserName: "lbc-backend-sg" });
  const policy = await iam({
    Action: "CreatePolicy",
    PolicyName: "lbc-backend-sg",
    PolicyDocument: JSON.stringify(motoForm(readPolicy())),
  });
  await iam({ Action: "AttachUserPolicy", UserName: "lbc-backend-sg", PolicyArn: xmlValue(policy, "Arn") });
  user = await createEc2Client({
    region: "us-east-1",
    endpoint: moto.url,
    credentials: {
      accessKeyId: xmlValue(key, "AccessKeyId"),
      secretAccessKey: xmlValue(key, "SecretAccessKey"),
    },
    maxAttempts: 1,
  });

  // From here on every request is authenticated and authorized against IAM.
  const res = await fetch(`${moto.url}/moto-api/reset-auth`, { method: "POST", body: "0" });
  assert.equal(res.status, 200);
});

after(async () => {
  user?.destroy();
  admin?.destroy();
  await moto?.stop();
});

function desired(securityGroupId: string, port: number): DesiredRule {
  return {
    key: `${securityGroupId}|tcp|${port}-${port}|${world.backendSgId}`,
    securityGroupId,
    protocol: "tcp",
    fromPort: port,
    toPort: port,
    sourceSecurityGroupId: world.backendSgId,
    ports: [port],
    neededBy: [`Service default/svc-${port}`],
    state: "authorize",
  };
}

describe("iam-policy.json under moto's IAM enforcement", () => {
  it("the admin's setup keys are refused once enforcement is on (enforcement really is on)", async () => {
    await assert.rejects(
      admin.call("DescribeSecurityGroups", {}),
      (err: unknown) => awsErrorCode(err) === "AuthFailure",
    );
  });

  it("the provider reads the cluster's EC2 facts and applies authorize, revoke and adopt with the policy alone", async () => {
    const read = await readEc2Snapshot(user, {
      needs: { instanceIds: [...world.instances], podIps: [world.podEniSecondaryIp], branchEniIds: [] },
      clusterName: CLUSTER,
      ownerId: OWNER,
    });
    assert.equal(read.snapshot.backendSecurityGroupId, world.backendSgId);
    const byId = new Map<string, ExistingRule>(
      Object.values(read.snapshot.rules).flatMap((list) => list.map((r) => [r.ruleId, r] as const)),
    );
    const owned = byId.get(world.ownedRuleId);
    const foreign = byId.get(world.foreignRuleId);
    assert.ok(owned !== undefined && foreign !== undefined);

    const applied = await applyRuleChanges(user, {
      toAuthorize: [desired(world.nodeSgA, 31000)],
      toRevoke: [owned],
      toAdopt: [{ rule: { ...desired(world.nodeSgC, 30000), state: "adopt" }, existing: foreign }],
      ownerId: OWNER,
      description: DESCRIPTION,
    });
    assert.equal(applied.authorized.length, 1);
    assert.deepEqual(applied.revoked, [world.ownedRuleId]);
    assert.deepEqual(
      applied.adopted.map((a) => a.ruleId),
      [world.foreignRuleId],
    );

    // The read and the apply called exactly the policy's actions: each is needed, none is missing.
    const called = [...new Set([...Object.keys(read.calls), ...Object.keys(applied.calls)])].sort();
    assert.deepEqual(called, policyActions(readPolicy()));
    assert.deepEqual(called, [
      "AuthorizeSecurityGroupIngress",
      "CreateTags",
      "DescribeInstances",
      "DescribeNetworkInterfaces",
      "DescribeSecurityGroupRules",
      "DescribeSecurityGroups",
      "RevokeSecurityGroupIngress",
    ]);
  });

  it("an action outside the policy (DeleteSecurityGroup) is refused with AccessDenied", async () => {
    await assert.rejects(
      user.sdk.send(new DeleteSecurityGroupCommand({ GroupId: world.nodeSgExtra })),
      (err: unknown) => {
        assert.equal(awsErrorCode(err), "AccessDenied");
        return true;
      },
    );
  });
});
