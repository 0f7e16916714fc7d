// applyRuleChanges against the real moto server, driven by the real AWS SDK.
// Not proven here: EC2's atomic rejection of a batch with a duplicate (moto keeps the permissions before it; both
// are handled by the same re-read), eventual consistency of new rules (moto shows them at once), throttling.

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { ApplyError, applyRuleChanges } from "../../provider/aws/apply";
import { readEc2Snapshot } from "../../provider/aws/read";
import { ruleIdentity } from "../../provider/aws/rules";
import type { ApplyResult, DesiredRule, RuleChanges } from "../../provider/aws/types";
import { type ExistingRule, OWNER_TAG_KEY } from "../../provider/domain/model";
import {
  addRule,
  CLUSTER,
  createSg,
  DESCRIPTION,
  type MotoEc2,
  OWNER,
  seedWorld,
  startMotoEc2,
  tag,
  type World,
} from "./moto-fixture";

let env: MotoEc2;
let world: World;

before(async () => {
  env = await startMotoEc2();
});
after(async () => {
  await env?.stop();
});
beforeEach(async () => {
  await env.moto.reset();
  world = await seedWorld(env.client);
});

function desired(securityGroupId: string, port: number, protocol: "tcp" | "udp" = "tcp"): DesiredRule {
  return {
    key: `${securityGroupId}|${protocol}|${port}-${port}|${world.backendSgId}`,
    securityGroupId,
    protocol,
    fromPort: port,
    toPort: port,
    sourceSecurityGroupId: world.backendSgId,
    ports: [port],
    neededBy: [`Service default/svc-${port}`],
    state: "authorize",
  };
}

function changes(overrides: Partial<RuleChanges>): RuleChanges {
  return {
    toAuthorize: [],
    toRevoke: [],
    toAdopt: [],
    ownerId: OWNER,
    description: DESCRIPTION,
    ...overrides,
  };
}

/** Every ingress rule of an SG as EC2 (moto) now reports it, straight from the SDK. */
async function rulesOf(groupId: string) {
  const out = await env.client.sdk.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return (out.SecurityGroupRules ?? []).filter((r) => r.IsEgress === false);
}

/** The rules of the seeded world as the reader maps them, by id. */
async function existingRules(): Promise<Map<string, ExistingRule>> {
  const { snapshot } = await readEc2Snapshot(env.client, {
    needs: { instanceIds: [...world.instances], podIps: [], branchEniIds: [] },
    clusterName: CLUSTER,
    ownerId: OWNER,
  });
  return new Map(Object.values(snapshot.rules).flatMap((list) => list.map((r) => [r.ruleId, r] as const)));
}

async function applyError(run: Promise<ApplyResult>): Promise<ApplyError> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof ApplyError, `expected an ApplyError, got ${String(err)}`);
    return err;
  }
  assert.fail("the apply succeeded");
}

const noAuthorizeWork = { authorized: [], duplicates: [], adopted: [] };

describe("applyRuleChanges (moto)", () => {
  it("authorizes many rules with one call per SG, tags them as ours and learns every id", async () => {
    const onA = Array.from({ length: 25 }, (_, i) => desired(world.nodeSgA, 31000 + i));
    const onC = [
      desired(world.nodeSgC, 32000),
      desired(world.nodeSgC, 32001, "udp"),
      desired(world.nodeSgC, 32002),
    ];
    const result = await applyRuleChanges(env.client, changes({ toAuthorize: [...onA, ...onC] }));

    const reported = new Map(result.authorized.map((a) => [a.key, a.ruleId]));
    assert.equal(result.authorized.length, 28);
    for (const groupId of [world.nodeSgA, world.nodeSgC]) {
      for (const rule of await rulesOf(groupId)) {
        if (
          rule.SecurityGroupRuleId === world.ownedRuleId ||
          rule.SecurityGroupRuleId === world.foreignRuleId
        )
          continue;
        const key = `${groupId}|${rule.IpProtocol}|${rule.FromPort}-${rule.ToPort}|${world.backendSgId}`;
        assert.equal(reported.get(key), rule.SecurityGroupRuleId, `id of ${key}`);
        assert.deepEqual(rule.Tags, [{ Key: OWNER_TAG_KEY, Value: OWNER }]);
        assert.equal(rule.ReferencedGroupInfo?.GroupId, world.backendSgId);
      }
    }
    assert.deepEqual(result.duplicates, []);
    assert.deepEqual(result.revoked, []);
    // moto's Authorize response lists only the last permission's rule, so each SG is re-read once (filtered by
    // our tag). Real EC2 lists them all and the re-read is skipped.
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 2, DescribeSecurityGroupRules: 2 });
  });

  it("takes the ids from the Authorize response when it lists every new rule", async () => {
    const result = await applyRuleChanges(
      env.client,
      changes({ toAuthorize: [desired(world.nodeSgA, 31000)] }),
    );
    assert.equal(result.authorized.length, 1);
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 1 });
  });

  it("revokes only our obsolete rules by id, after the new ones are in", async () => {
    const rules = await existingRules();
    const owned = rules.get(world.ownedRuleId)!;
    const result = await applyRuleChanges(
      env.client,
      changes({ toAuthorize: [desired(world.nodeSgA, 31000)], toRevoke: [owned] }),
    );
    assert.deepEqual(result.revoked, [world.ownedRuleId]);
    assert.deepEqual(result.alreadyGone, []);
    const left = (await rulesOf(world.nodeSgA)).map((r) => r.FromPort);
    assert.deepEqual(left, [31000]);
    assert.deepEqual(
      (await rulesOf(world.nodeSgC)).map((r) => r.SecurityGroupRuleId),
      [world.foreignRuleId],
    );
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 1, RevokeSecurityGroupIngress: 1 });
  });

  it("refuses to revoke a rule without our tag, before any call", async () => {
    const rules = await existingRules();
    const foreign = rules.get(world.foreignRuleId)!;
    const err = await applyError(
      applyRuleChanges(
        env.client,
        changes({ toAuthorize: [desired(world.nodeSgA, 31000)], toRevoke: [foreign] }),
      ),
    );
    assert.equal(
      err.message,
      `not applying rule changes: refusing to revoke ${world.foreignRuleId} on ${world.nodeSgC}: ` +
        `it does not carry tag ${OWNER_TAG_KEY}=${OWNER} (it has no owner tag)`,
    );
    assert.deepEqual(err.partial, { ...noAuthorizeWork, revoked: [], alreadyGone: [], calls: {} });
    assert.equal((await rulesOf(world.nodeSgC)).length, 1);
    assert.deepEqual(
      (await rulesOf(world.nodeSgA)).map((r) => r.SecurityGroupRuleId),
      [world.ownedRuleId],
      "nothing authorized either",
    );
  });

  it("moto quirk: an identical rule with another description is not a duplicate", async () => {
    // Real EC2 rejects it (InvalidPermission.Duplicate: identity ignores the description); moto compares the
    // description too and creates a second rule. The planner never sends a rule it sees exists, so only a race
    // reaches EC2's duplicate check; the tests below give the foreign rule our description to make moto reject it.
    // If this starts failing, moto fixed it and those tests can use any description.
    const result = await applyRuleChanges(
      env.client,
      changes({ toAuthorize: [desired(world.nodeSgC, 30000)] }),
    );
    assert.deepEqual(result.duplicates, []);
    assert.equal((await rulesOf(world.nodeSgC)).length, 2);
  });

  it("an identical foreign rule satisfies the need: reported as a duplicate, not created again", async () => {
    await addRule(env.client, world.nodeSgC, world.backendSgId, 30002, [], DESCRIPTION);
    // New rule first: moto then adds it before rejecting the duplicate (real EC2 rejects the whole batch).
    const fresh = desired(world.nodeSgC, 30001);
    const same = desired(world.nodeSgC, 30002);
    const result = await applyRuleChanges(env.client, changes({ toAuthorize: [fresh, same] }));
    const now = await rulesOf(world.nodeSgC);
    const freshRule = now.find((r) => r.FromPort === 30001)!;
    assert.deepEqual(result.authorized, [{ key: fresh.key, ruleId: freshRule.SecurityGroupRuleId! }]);
    assert.deepEqual(result.duplicates, [same.key]);
    assert.equal(now.length, 3);
    assert.deepEqual(now.find((r) => r.FromPort === 30002)?.Tags, [], "the foreign rule is left untouched");
    // moto: 1 rejected Authorize that kept 30001, 1 re-read that finds it ours. EC2: a second Authorize.
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 1, DescribeSecurityGroupRules: 1 });
  });

  it("duplicate first in the batch: the missing rules are authorized in a second call", async () => {
    await addRule(env.client, world.nodeSgC, world.backendSgId, 30002, [], DESCRIPTION);
    const same = desired(world.nodeSgC, 30002);
    const fresh = desired(world.nodeSgC, 30001);
    const result = await applyRuleChanges(env.client, changes({ toAuthorize: [same, fresh] }));
    assert.deepEqual(result.duplicates, [same.key]);
    assert.equal(result.authorized.length, 1);
    assert.equal(result.authorized[0]?.key, fresh.key);
    // The second Authorize has one permission, whose rule moto's response lists: no re-read to learn the id.
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 2, DescribeSecurityGroupRules: 1 });
  });

  it("re-applying the same plan finds our own rules and creates nothing (lost state converges)", async () => {
    const plan = [desired(world.nodeSgA, 31000), desired(world.nodeSgA, 31001)];
    const first = await applyRuleChanges(env.client, changes({ toAuthorize: plan }));
    const second = await applyRuleChanges(env.client, changes({ toAuthorize: plan }));
    assert.deepEqual(second.authorized, first.authorized);
    assert.deepEqual(second.duplicates, []);
    assert.equal((await rulesOf(world.nodeSgA)).length, 3);
  });

  it("a rule already revoked out of band is reported as already gone; the others are still revoked", async () => {
    const second = await addRule(env.client, world.nodeSgA, world.backendSgId, 30081, [
      tag(OWNER_TAG_KEY, OWNER),
    ]);
    const rules = await existingRules();
    const toRevoke = [rules.get(world.ownedRuleId)!, rules.get(second)!];
    await env.client.sdk.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: world.nodeSgA,
        SecurityGroupRuleIds: [world.ownedRuleId],
      }),
    );
    const result = await applyRuleChanges(env.client, changes({ toRevoke }));
    assert.deepEqual(result.revoked, [second]);
    assert.deepEqual(result.alreadyGone, [world.ownedRuleId]);
    assert.deepEqual(await rulesOf(world.nodeSgA), []);
    // moto answers InvalidPermission.NotFound and revokes none of the batch; re-read, then revoke the rest.
    assert.deepEqual(result.calls, { RevokeSecurityGroupIngress: 2, DescribeSecurityGroupRules: 1 });
  });

  it("rules of a deleted SG are already gone", async () => {
    const doomed = await createSg(env.client, world.vpcId, "doomed", []);
    const ruleId = await addRule(env.client, doomed, world.backendSgId, 30090, [tag(OWNER_TAG_KEY, OWNER)]);
    const rule: ExistingRule = {
      ruleId,
      groupId: doomed,
      protocol: "tcp",
      fromPort: 30090,
      toPort: 30090,
      sourceSecurityGroupId: world.backendSgId,
      tags: { [OWNER_TAG_KEY]: OWNER },
    };
    await env.client.sdk.send(new DeleteSecurityGroupCommand({ GroupId: doomed }));
    const result = await applyRuleChanges(env.client, changes({ toRevoke: [rule] }));
    assert.deepEqual(result.alreadyGone, [ruleId]);
    assert.deepEqual(result.revoked, []);
    assert.deepEqual(result.calls, { RevokeSecurityGroupIngress: 1 });
  });

  it("adopts an identical foreign rule by tagging it", async () => {
    const rules = await existingRules();
    const foreign = rules.get(world.foreignRuleId)!;
    const rule = { ...desired(world.nodeSgC, 30000), state: "adopt" as const };
    const result = await applyRuleChanges(env.client, changes({ toAdopt: [{ rule, existing: foreign }] }));
    assert.deepEqual(result.adopted, [{ key: rule.key, ruleId: world.foreignRuleId }]);
    assert.deepEqual((await rulesOf(world.nodeSgC))[0]?.Tags, [{ Key: OWNER_TAG_KEY, Value: OWNER }]);
    assert.deepEqual(result.calls, { CreateTags: 1 });
  });

  it("a failure on one SG surfaces an ApplyError with what the other SGs got, and revokes nothing", async () => {
    const deleted = await createSg(env.client, world.vpcId, "deleted", []);
    await env.client.sdk.send(new DeleteSecurityGroupCommand({ GroupId: deleted }));
    const rules = await existingRules();
    const onA = [desired(world.nodeSgA, 31000), desired(world.nodeSgA, 31001)];
    const onC = [desired(world.nodeSgC, 32000)];
    const onDeleted = [desired(deleted, 33000), desired(deleted, 33001)];
    const err = await applyError(
      applyRuleChanges(
        env.client,
        changes({ toAuthorize: [...onA, ...onDeleted, ...onC], toRevoke: [rules.get(world.ownedRuleId)!] }),
      ),
    );
    assert.equal(
      err.message,
      `authorizing 2 rules on security group ${deleted}: InvalidGroup.NotFound: ` +
        `The security group '${deleted}' does not exist`,
    );
    assert.equal(err.code, "InvalidGroup.NotFound");
    const keys = err.partial.authorized.map((a) => a.key).sort();
    assert.deepEqual(keys, [...onA, ...onC].map((r) => r.key).sort());
    for (const { key, ruleId } of err.partial.authorized) assert.match(ruleId, /^sgr-[0-9a-f]+$/, key);
    assert.deepEqual(err.partial.revoked, []);
    assert.deepEqual(
      (await rulesOf(world.nodeSgA)).map((r) => r.SecurityGroupRuleId).includes(world.ownedRuleId),
      true,
      "the obsolete rule stays: revokes only run after every authorize succeeded",
    );
    assert.equal(err.partial.calls.RevokeSecurityGroupIngress, undefined);
    assert.equal(err.partial.calls.AuthorizeSecurityGroupIngress, 3);
  });

  it("the applied rules read back as ours with the identities the plan asked for", async () => {
    const plan = [desired(world.nodeSgA, 31000), desired(world.nodeSgC, 32000, "udp")];
    const result = await applyRuleChanges(env.client, changes({ toAuthorize: plan }));
    const rules = await existingRules();
    for (const { key, ruleId } of result.authorized) {
      const rule = rules.get(ruleId)!;
      const planned = plan.find((p) => p.key === key)!;
      assert.equal(ruleIdentity(rule), ruleIdentity(planned));
      assert.equal(rule.groupId, planned.securityGroupId);
      assert.deepEqual(rule.tags, { [OWNER_TAG_KEY]: OWNER });
    }
  });
});
