// Coexistence: two owners (two stacks, different ownerId) with the same needs on the same security groups, next to
// a hand-made identical rule and a rule carrying the LBC's own marker (elbv2.k8s.aws/targetGroupBinding=shared).
//
// How it behaves (for the README):
// - A rule is owned by the stack whose ownerId is in its tag lbc-backend-sg/owner; a stack only ever revokes rules
//   carrying its own tag, by sgr- id. Hand-made and LBC-marked rules are never touched by anyone.
// - EC2 rejects identical rules, so when stack A already holds a rule that stack B needs, B records it as
//   satisfied by a foreign rule (owned: false) and creates nothing; B never adopts another stack's rule.
// - When A is destroyed it revokes its rules, including those B counted as satisfied. B does not lose track: B's
//   next preview (check and diff read EC2) shows the update, and B's next `up` authorizes the rules under B's own
//   tag. Between A's destroy and B's next up, traffic B needs through those rules is not allowed: run B's up right
//   after A's destroy (or give every stack its own backend SG).
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { BackendSecurityGroupRulesInputs as Inputs } from "../../provider/inputs";
import { provider } from "../../provider/provider";
import type { Ec2Proxy } from "../sandbox/ec2-proxy";
import type { Sandbox } from "../sandbox/sandbox";
import type { SeededCluster } from "../sandbox/seed";
import {
  assertConverged,
  check,
  closeWorld,
  destroy,
  type FaultWorld,
  type ForeignRule,
  fiveGroupWorld,
  ingressRules,
  keyOf,
  kubeconfigOf,
  ownedKeysInEc2,
  type StackState,
  snapshotForeign,
  up,
} from "./harness";

const CLUSTER = "coexist";
let sandbox: Sandbox;
let seeded: SeededCluster;
let proxy: Ec2Proxy;
let ec2: EC2Client;
let foreign: ForeignRule[];

function inputs(ownerId: string): Inputs {
  return {
    manageBackendSecurityGroupRules: true,
    cluster: { name: CLUSTER, kubeconfig: kubeconfigOf(sandbox) },
    ownerId,
  };
}

let world: FaultWorld | undefined;
before(async () => {
  world = await fiveGroupWorld(CLUSTER);
  ({ sandbox, seeded, ec2, proxy, foreign } = world);
});

after(() => closeWorld(world));

async function upOk(state: StackState | undefined, ownerId: string): Promise<StackState> {
  const r = await up(state, inputs(ownerId));
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.failures, undefined, JSON.stringify(r.failures));
  return r.state!;
}

/** Every needed rule exists once (whoever owns it) and the foreign rules are untouched. */
async function assertAllNeededOnce(state: StackState): Promise<void> {
  const keys = (await ingressRules(ec2)).map(keyOf);
  for (const k of Object.keys(state.inputs.desiredRules ?? {}))
    assert.equal(keys.filter((x) => x === k).length, 1, `rule ${k} exists once`);
  assert.deepEqual(
    await snapshotForeign(
      ec2,
      foreign.map((f) => f.ruleId),
    ),
    foreign,
  );
}

test("A up, B up: B creates nothing and records A's rules as satisfied; destroying A shows B the rules to add; B's up restores them", async () => {
  const a = await upOk(undefined, "stack-a");
  const aOwned = await ownedKeysInEc2(ec2, "stack-a");
  assert.equal(aOwned.length, 13); // 5 SGs x 3 ports, less the hand-made and the LBC-marked ones
  proxy.resetCounts();
  let b = await upOk(undefined, "stack-b");
  assert.equal(proxy.counts().AuthorizeSecurityGroupIngress ?? 0, 0, "B authorizes nothing");
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-b"), []);
  assert.ok(Object.values(b.outputs.rules).every((r) => !r.owned));
  await assertAllNeededOnce(b);

  await destroy(a);
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-a"), []);
  // B's next preview: check and diff must show a change (the rules B counted on are gone)
  const checked = await check(b, inputs("stack-b"));
  const d = await provider.diff!(b.id, b.outputs, checked.inputs!);
  assert.equal(d.changes, true, "B's preview shows the rules to add");
  b = await upOk(b, "stack-b");
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-b"), aOwned);
  await assertConverged(ec2, b, foreign, "B after A's destroy");
  await assertAllNeededOnce(b);
  await destroy(b);
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-b"), []);
});

test("A up, B up, B destroy: A's rules stay; then A destroy leaves only the foreign rules", async () => {
  const a = await upOk(undefined, "stack-a");
  const aOwned = await ownedKeysInEc2(ec2, "stack-a");
  const b = await upOk(undefined, "stack-b");
  await destroy(b);
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-a"), aOwned);
  const again = await upOk(a, "stack-a");
  await assertConverged(ec2, again, foreign, "A after B's destroy");
  await destroy(again);
  assert.deepEqual(await ownedKeysInEc2(ec2, "stack-a"), []);
  assert.deepEqual(
    await snapshotForeign(
      ec2,
      foreign.map((f) => f.ruleId),
    ),
    foreign,
  );
});

test("interleaved: A up, B up, A up, B up, A destroy, B up, B destroy: nobody's rules lost, no duplicates", async () => {
  let a = await upOk(undefined, "stack-a");
  let b = await upOk(undefined, "stack-b");
  a = await upOk(a, "stack-a");
  b = await upOk(b, "stack-b");
  await assertAllNeededOnce(a);
  await destroy(a);
  b = await upOk(b, "stack-b");
  await assertAllNeededOnce(b);
  await assertConverged(ec2, b, foreign, "B alone");
  await destroy(b);
  const left = (await ingressRules(ec2)).filter(
    (r) => r.ReferencedGroupInfo?.GroupId === seeded.backendSecurityGroupId,
  );
  assert.deepEqual(left.map((r) => r.SecurityGroupRuleId).sort(), foreign.map((f) => f.ruleId).sort());
});
