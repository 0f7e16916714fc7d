import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import {
  bucketCategory,
  EC2_BUCKETS,
  type Ec2Proxy,
  type Ec2ProxyOptions,
  rateHit,
  startEc2Proxy,
} from "./ec2-proxy";
import { type Moto, startMoto } from "./moto";

// One moto server for the file (it takes seconds to start), reset before every test; a fresh proxy per test, so
// counters, buckets and fault call indexes start from zero.
let moto: Moto;
let logDir: string;
let proxy: Ec2Proxy | undefined;
const clients: EC2Client[] = [];

before(async () => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), "ec2-proxy-test-"));
  moto = await startMoto({ logDir });
});
after(async () => {
  await moto?.stop();
  fs.rmSync(logDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await moto.reset();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy?.close();
  proxy = undefined;
});

async function useProxy(opts: Omit<Ec2ProxyOptions, "upstream"> = {}): Promise<Ec2Proxy> {
  proxy = await startEc2Proxy({ upstream: moto.url, ...opts });
  return proxy;
}

function client(p: Ec2Proxy, maxAttempts: number): EC2Client {
  const c = new EC2Client({
    endpoint: p.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts,
  });
  clients.push(c);
  return c;
}

interface SdkError {
  name: string;
  message: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** the rejection of `p` (fails if it resolves), with the fields the SDK puts on EC2 errors */
async function failure(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
    return e as Error & SdkError;
  }
  assert.fail("expected the call to fail");
}

function ec2Fields(e: SdkError) {
  return { name: e.name, Code: e.Code, status: e.$metadata?.httpStatusCode, message: e.message };
}

async function vpcWithGroups(
  ec2: EC2Client,
  names: string[],
): Promise<{ vpcId: string; groupIds: string[] }> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }));
  const vpcId = vpc.Vpc!.VpcId!;
  const groupIds: string[] = [];
  for (const name of names) {
    const sg = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId }),
    );
    groupIds.push(sg.GroupId!);
  }
  return { vpcId, groupIds };
}

test("bucket categories and sizes follow EC2's documented request throttling", () => {
  assert.deepEqual(EC2_BUCKETS, {
    "mutating-sg": { capacity: 50, refillPerSecond: 5 },
    describe: { capacity: 100, refillPerSecond: 20 },
    "mutating-other": { capacity: 50, refillPerSecond: 5 },
  });
  assert.deepEqual(
    [
      "AuthorizeSecurityGroupIngress",
      "RevokeSecurityGroupIngress",
      "AuthorizeSecurityGroupEgress",
      "RevokeSecurityGroupEgress",
      "DescribeSecurityGroupRules",
      "DescribeSecurityGroups",
      "CreateTags",
      "CreateSecurityGroup",
      "ModifySecurityGroupRules",
    ].map(bucketCategory),
    [
      "mutating-sg",
      "mutating-sg",
      "mutating-sg",
      "mutating-sg",
      "describe",
      "describe",
      "mutating-other",
      "mutating-other",
      "mutating-other",
    ],
  );
});

test("passes EC2 calls and moto's own API through unchanged, counting calls per action exactly", async () => {
  const p = await useProxy();
  const ec2 = client(p, 1);
  const { vpcId, groupIds } = await vpcWithGroups(ec2, ["web"]);
  const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }));
  assert.deepEqual(
    described.SecurityGroups?.map((g) => [g.GroupId, g.GroupName, g.VpcId]),
    [[groupIds[0], "web", vpcId]],
  );
  // moto's own API has no Action: passed through, not counted
  const res = await fetch(`${p.url}/moto-api/`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();

  const expected = { CreateVpc: 1, CreateSecurityGroup: 1, DescribeSecurityGroups: 1 };
  assert.deepEqual(p.counts(), expected);
  assert.deepEqual(p.forwarded(), expected);
  assert.deepEqual(p.throttled(), {});
  assert.deepEqual(p.faulted(), {});
  p.resetCounts();
  assert.deepEqual(p.counts(), {});
});

test("an empty bucket answers 503 RequestLimitExceeded; the SDK's standard retry gets every call through", async () => {
  // capacity 2, practically no refill: of a concurrent burst of 5, exactly 2 get a token
  const p = await useProxy({ throttling: { describe: { capacity: 2, refillPerSecond: 0.001 } } });
  const noRetry = client(p, 1);
  const burst = await Promise.allSettled(
    Array.from({ length: 5 }, () => noRetry.send(new DescribeSecurityGroupsCommand({}))),
  );
  assert.equal(burst.filter((r) => r.status === "fulfilled").length, 2);
  const errors = burst.flatMap((r) => (r.status === "rejected" ? [ec2Fields(r.reason as SdkError)] : []));
  assert.deepEqual(
    errors,
    Array.from({ length: 3 }, () => ({
      name: "RequestLimitExceeded",
      Code: "RequestLimitExceeded",
      status: 503,
      message: "Request limit exceeded.",
    })),
  );
  assert.deepEqual(p.counts(), { DescribeSecurityGroups: 5 });
  assert.deepEqual(p.forwarded(), { DescribeSecurityGroups: 2 });
  assert.deepEqual(p.throttled(), { DescribeSecurityGroups: 3 });
  // every action has its own bucket: DescribeVpcs still has tokens
  await noRetry.send(new DescribeVpcsCommand({}));
  assert.deepEqual(p.forwarded(), { DescribeSecurityGroups: 2, DescribeVpcs: 1 });

  // a refill the SDK's backoff (up to 0.5 s × 2^attempt for throttling) can wait for
  p.configure({ throttling: { describe: { capacity: 2, refillPerSecond: 5 } } });
  p.resetCounts();
  const withRetry = client(p, 10);
  const results = await Promise.all(
    Array.from({ length: 5 }, () => withRetry.send(new DescribeSecurityGroupsCommand({}))),
  );
  assert.equal(results.length, 5);
  assert.deepEqual(p.forwarded(), { DescribeSecurityGroups: 5 });
  const throttled = p.throttled().DescribeSecurityGroups ?? 0;
  assert.ok(throttled >= 3, `a burst of 5 on a bucket of 2 is throttled at least 3 times, got ${throttled}`);
  assert.deepEqual(p.counts(), { DescribeSecurityGroups: 5 + throttled });
  assert.equal(
    results.reduce((n, r) => n + (r.$metadata.attempts ?? 1), 0),
    5 + throttled,
    "the SDK's attempts are exactly the calls the proxy saw",
  );
});

test("throttling is off by default and `true` means EC2's sizes", async () => {
  const p = await useProxy();
  const ec2 = client(p, 1);
  // more than the describe bucket's 100 would allow at once
  await Promise.all(Array.from({ length: 120 }, () => ec2.send(new DescribeVpcsCommand({}))));
  assert.deepEqual(p.throttled(), {});
  p.configure({ throttling: true });
  p.resetCounts();
  const started = performance.now();
  const burst = await Promise.allSettled(
    Array.from({ length: 200 }, () => ec2.send(new DescribeVpcsCommand({}))),
  );
  const seconds = (performance.now() - started) / 1000;
  const ok = burst.filter((r) => r.status === "fulfilled").length;
  // 100 tokens, plus at most what 20/s refilled while the burst was being served (moto's latency paces it)
  assert.ok(ok >= 100 && ok <= 100 + Math.ceil(20 * seconds), `${ok} passed in ${seconds.toFixed(2)} s`);
  assert.ok(ok < 200, "the burst outran the refill");
  assert.deepEqual(p.throttled(), { DescribeVpcs: 200 - ok });
  assert.deepEqual(p.forwarded(), { DescribeVpcs: ok });
});

describe("fault injection", () => {
  test("a schedule fails exactly the Nth call of that action with the given EC2 error code", async () => {
    const p = await useProxy({
      faults: [
        {
          action: "DescribeVpcs",
          kind: { code: "InvalidGroup.NotFound", message: "The security group 'sg-1' does not exist" },
          schedule: [2],
        },
      ],
    });
    // standard retries on: a 400 with a non-retryable code must still fail on the first attempt
    const ec2 = client(p, 3);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        await ec2.send(new DescribeVpcsCommand({}));
        outcomes.push("ok");
      } catch (e: unknown) {
        const f = ec2Fields(e as SdkError);
        outcomes.push(`${f.name}/${f.Code}/${f.status}/${f.message}`);
      }
    }
    assert.deepEqual(outcomes, [
      "ok",
      "InvalidGroup.NotFound/InvalidGroup.NotFound/400/The security group 'sg-1' does not exist",
      "ok",
      "ok",
    ]);
    await ec2.send(new DescribeSecurityGroupsCommand({})); // another action: not affected
    assert.deepEqual(p.counts(), { DescribeVpcs: 4, DescribeSecurityGroups: 1 });
    assert.deepEqual(p.forwarded(), { DescribeVpcs: 3, DescribeSecurityGroups: 1 });
    assert.deepEqual(p.faulted(), { DescribeVpcs: 1 });
  });

  test("http500 and throttle faults are retried by the SDK; without retry they surface with EC2's codes", async () => {
    const p = await useProxy({
      faults: [
        { action: "DescribeVpcs", kind: "http500", schedule: [1] },
        { action: "DescribeSecurityGroups", kind: "throttle", schedule: [1] },
      ],
    });
    const noRetry = client(p, 1);
    assert.deepEqual(ec2Fields(await failure(noRetry.send(new DescribeVpcsCommand({})))), {
      name: "InternalError",
      Code: "InternalError",
      status: 500,
      message: "An internal error has occurred.",
    });
    assert.deepEqual(ec2Fields(await failure(noRetry.send(new DescribeSecurityGroupsCommand({})))), {
      name: "RequestLimitExceeded",
      Code: "RequestLimitExceeded",
      status: 503,
      message: "Request limit exceeded.",
    });
    p.configure({ faults: [{ action: "*", kind: "http500", schedule: [1] }] });
    p.resetCounts();
    const withRetry = client(p, 3);
    const r = await withRetry.send(new DescribeVpcsCommand({}));
    assert.equal(r.$metadata.attempts, 2);
    assert.deepEqual(p.counts(), { DescribeVpcs: 2 });
    assert.deepEqual(p.forwarded(), { DescribeVpcs: 1 });
    assert.deepEqual(p.faulted(), { DescribeVpcs: 1 });
    assert.deepEqual(p.throttled(), {});
  });

  test("reset destroys the connection without a response: a network error the SDK retries", async () => {
    const p = await useProxy({ faults: [{ action: "DescribeVpcs", kind: "reset", schedule: [1, 3] }] });
    const e = await failure(client(p, 1).send(new DescribeVpcsCommand({})));
    assert.equal(e.code, "ECONNRESET");
    assert.equal(e.$metadata?.httpStatusCode, undefined);
    const r = await client(p, 3).send(new DescribeVpcsCommand({})); // call 2 passes
    assert.equal(r.$metadata.attempts, 1);
    const retried = await client(p, 3).send(new DescribeVpcsCommand({})); // call 3 reset, call 4 passes
    assert.equal(retried.$metadata.attempts, 2);
    assert.deepEqual(p.counts(), { DescribeVpcs: 4 });
    assert.deepEqual(p.forwarded(), { DescribeVpcs: 2 });
  });

  test("rate-based faults fail the same call indexes for the same seed, run after run", async () => {
    const rules = [{ action: "*", kind: { code: "Injected.Fault" }, rate: 0.3 }];
    async function run(seed: number): Promise<number[]> {
      const p = await startEc2Proxy({ upstream: moto.url, faults: rules, seed });
      try {
        const ec2 = client(p, 1);
        const failed: number[] = [];
        for (let n = 1; n <= 30; n++) {
          try {
            await ec2.send(new DescribeVpcsCommand({}));
          } catch (e: unknown) {
            assert.equal((e as SdkError).name, "Injected.Fault");
            failed.push(n);
          }
        }
        assert.deepEqual(p.faulted(), failed.length ? { DescribeVpcs: failed.length } : {});
        return failed;
      } finally {
        await p.close();
      }
    }
    const first = await run(42);
    const second = await run(42);
    const expected = Array.from({ length: 30 }, (_, i) => i + 1).filter((n) =>
      rateHit(42, 0, "DescribeVpcs", n, 0.3),
    );
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
    assert.ok(expected.length > 0 && expected.length < 30, `a rate of 0.3 fails some calls: ${expected}`);
    assert.notDeepEqual(await run(7), expected, "another seed fails other calls");
  });
});

/*
 * moto 5.2.5 (the pinned server) observed through this proxy with the real SDK, versus what real EC2 does. The
 * provider's tests run against moto, so code that behaves correctly here must not depend on these quirks:
 *  1. AuthorizeSecurityGroupIngress with several IpPermissions answers `SecurityGroupRules` with only the LAST
 *     permission's rules (all are created); re-read with DescribeSecurityGroupRules.
 *  2. TagSpecifications (ResourceType "security-group-rule") on Authorize tag every rule the call creates.
 *  3. DescribeSecurityGroupRules supports the `group-id`, `tag:<key>`, `tag-key` and `security-group-rule-id`
 *     filters; `referenced-group-info.group-id` is not implemented: HTTP 500 with an HTML body (the SDK reports an
 *     XML parse error, and its standard retry retries it as a 500).
 *  4. DescribeSecurityGroupRules ignores MaxResults and NextToken: it returns every match and never a NextToken.
 *  5. DescribeSecurityGroupRules leaves out `Description` (DescribeSecurityGroups' IpPermissions carry it).
 *  6. An exact duplicate rule: 400 InvalidPermission.Duplicate "The specified rule already exists". But a rule
 *     that differs only in its description is accepted as a second rule (real EC2 rejects it as a duplicate).
 *  7. Authorize is not atomic: in [new, duplicate] the new rule is created although the call fails.
 *  8. RevokeSecurityGroupIngress with SecurityGroupRuleIds works; an unknown sgr id (alone or next to a known one)
 *     answers 400 InvalidPermission.NotFound "The specified rule does not exist in this security group" and
 *     revokes nothing. DescribeSecurityGroupRules with an unknown id answers 400
 *     InvalidSecurityGroupRuleId.NotFound "The security group rule ID '<id>' does not exist".
 */
test("moto behaviour we rely on", async () => {
  const p = await useProxy();
  const ec2 = client(p, 1);
  const {
    groupIds: [a, b, c],
  } = await vpcWithGroups(ec2, ["a", "b", "c"]);
  assert.ok(a && b && c);
  const rulesOf = async (groupId: string) =>
    (
      await ec2.send(
        new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
      )
    ).SecurityGroupRules ?? [];
  const perm = (port: number, groupId: string, description?: string): IpPermission => ({
    IpProtocol: "tcp",
    FromPort: port,
    ToPort: port,
    UserIdGroupPairs: [
      description === undefined ? { GroupId: groupId } : { GroupId: groupId, Description: description },
    ],
  });

  // 1 + 2: several permissions, tagged
  const authorized = await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: a,
      IpPermissions: [
        perm(80, b, "d1"),
        { ...perm(443, b), IpRanges: [{ CidrIp: "10.1.0.0/16" }] },
        { IpProtocol: "tcp", FromPort: 8080, ToPort: 8081, UserIdGroupPairs: [{ GroupId: c }] },
      ],
      TagSpecifications: [{ ResourceType: "security-group-rule", Tags: [{ Key: "owner", Value: "x" }] }],
    }),
  );
  assert.equal(authorized.Return, true);
  assert.deepEqual(
    authorized.SecurityGroupRules?.map((r) => [r.FromPort, r.ToPort, r.ReferencedGroupInfo?.GroupId, r.Tags]),
    [[8080, 8081, c, [{ Key: "owner", Value: "x" }]]],
  );
  const created = await rulesOf(a);
  const summary = (r: (typeof created)[number]) => [
    r.IsEgress,
    r.FromPort,
    r.ReferencedGroupInfo?.GroupId ?? r.CidrIpv4,
    r.Tags?.map((t) => `${t.Key}=${t.Value}`).join(","),
    r.Description,
  ];
  const tagged = "owner=x";
  assert.deepEqual(created.map(summary), [
    [true, -1, "0.0.0.0/0", "", undefined], // the default egress rule
    [false, 80, b, tagged, undefined], // 5: the description "d1" is not returned
    [false, 443, "10.1.0.0/16", tagged, undefined],
    [false, 443, b, tagged, undefined],
    [false, 8080, c, tagged, undefined],
  ]);
  const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [a] }));
  assert.equal(sgs.SecurityGroups?.[0]?.IpPermissions?.[0]?.UserIdGroupPairs?.[0]?.Description, "d1");

  // 3: filters
  const byFilter = async (Name: string, Values: string[]) =>
    (
      await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name, Values }] }))
    ).SecurityGroupRules?.map((r) => r.SecurityGroupRuleId);
  const ingressIds = created.filter((r) => !r.IsEgress).map((r) => r.SecurityGroupRuleId);
  assert.deepEqual(await byFilter("tag:owner", ["x"]), ingressIds);
  assert.deepEqual(await byFilter("tag:owner", ["nope"]), []);
  assert.deepEqual(await byFilter("tag-key", ["owner"]), ingressIds);
  assert.deepEqual(await byFilter("security-group-rule-id", [ingressIds[1]!]), [ingressIds[1]]);
  const unimplemented = await failure(byFilter("referenced-group-info.group-id", [b]));
  assert.equal(unimplemented.$metadata?.httpStatusCode, 500);

  // 4: no pagination (5 is EC2's smallest MaxResults; there are 5 rules, so add one)
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [perm(9000, b)] }));
  const page = await ec2.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [a] }], MaxResults: 5 }),
  );
  assert.equal(page.SecurityGroupRules?.length, 6);
  assert.equal(page.NextToken, undefined);
  const withToken = await ec2.send(
    new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: "group-id", Values: [a] }],
      MaxResults: 5,
      NextToken: "not-a-token",
    }),
  );
  assert.equal(withToken.SecurityGroupRules?.length, 6);

  // 6: duplicates
  const duplicate = {
    name: "InvalidPermission.Duplicate",
    Code: "InvalidPermission.Duplicate",
    status: 400,
    message: "The specified rule already exists",
  };
  assert.deepEqual(
    ec2Fields(
      await failure(
        ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [perm(9000, b)] })),
      ),
    ),
    duplicate,
  );
  const differentDescription = await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [perm(9000, b, "other")] }),
  );
  assert.equal(differentDescription.SecurityGroupRules?.length, 1);
  assert.equal((await rulesOf(a)).filter((r) => r.FromPort === 9000).length, 2);

  // 7: not atomic
  assert.deepEqual(
    ec2Fields(
      await failure(
        ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: a,
            IpPermissions: [perm(9100, b), perm(9000, b)],
          }),
        ),
      ),
    ),
    duplicate,
  );
  assert.equal((await rulesOf(a)).filter((r) => r.FromPort === 9100).length, 1);

  // 8: revoke by rule id
  const notFound = {
    name: "InvalidPermission.NotFound",
    Code: "InvalidPermission.NotFound",
    status: 400,
    message: "The specified rule does not exist in this security group",
  };
  const unknownId = "sgr-00000000000000000";
  const [first, second] = ingressIds as [string, string];
  assert.deepEqual(
    ec2Fields(
      await failure(
        ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: a, SecurityGroupRuleIds: [unknownId] })),
      ),
    ),
    notFound,
  );
  assert.deepEqual(
    ec2Fields(
      await failure(
        ec2.send(
          new RevokeSecurityGroupIngressCommand({ GroupId: a, SecurityGroupRuleIds: [first, unknownId] }),
        ),
      ),
    ),
    notFound,
  );
  assert.ok(
    (await rulesOf(a)).some((r) => r.SecurityGroupRuleId === first),
    "nothing was revoked",
  );
  const revoked = await ec2.send(
    new RevokeSecurityGroupIngressCommand({ GroupId: a, SecurityGroupRuleIds: [first, second] }),
  );
  assert.equal(revoked.Return, true);
  const left = (await rulesOf(a)).map((r) => r.SecurityGroupRuleId);
  assert.equal(left.includes(first) || left.includes(second), false);
  assert.equal(left.length, 6);
  assert.deepEqual(
    ec2Fields(
      await failure(ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [unknownId] }))),
    ),
    {
      name: "InvalidSecurityGroupRuleId.NotFound",
      Code: "InvalidSecurityGroupRuleId.NotFound",
      status: 400,
      message: `The security group rule ID '${unknownId}' does not exist`,
    },
  );
});
