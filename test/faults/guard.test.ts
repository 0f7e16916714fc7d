// The mass-revocation guard: an update that would revoke more than maxRevokeFraction (default 0.5) of the rules we
// own refuses, unless confirmMassRevoke is true. The typical cause is a kubeconfig pointing at the wrong or an
// empty cluster; a Kubernetes proxy in front of the sandbox's apiserver answers the lists empty (or hides some
// objects) so the seeded cluster stays as it is.
// Not proven here: the guard at preview time. The refusal comes from update; the preview shows the `-` lines.
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { BackendSecurityGroupRulesInputs as Inputs } from "../../provider/inputs";
import type { Ec2Proxy } from "../sandbox/ec2-proxy";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type SeededCluster, seedScenario } from "../sandbox/seed";
import {
  assertConverged,
  authorizeForeign,
  destroy,
  directEc2,
  type ForeignRule,
  fiveGroupScenario,
  httpKubeconfigOf,
  type KubeProxy,
  mutations,
  ownedKeysInEc2,
  snapshotForeign,
  startKubeProxy,
  startProxy,
  up,
} from "./harness";

const CLUSTER = "guard";
const OWNER = "faults/guard";
let sandbox: Sandbox;
let seeded: SeededCluster;
let proxy: Ec2Proxy;
let kube: KubeProxy;
let ec2: EC2Client;
let foreign: ForeignRule[];

function inputs(overrides: Partial<Inputs> = {}): Inputs {
  return {
    manageBackendSecurityGroupRules: true,
    cluster: { name: CLUSTER, kubeconfig: httpKubeconfigOf(sandbox, kube.server) },
    ownerId: OWNER,
    ...overrides,
  };
}

/** Shows only these Services and Ingresses ("ns/name"); every other kind as it is. */
function onlyObjects(visible: string[] | "none" | "all"): void {
  if (visible === "all") {
    kube.transform = undefined;
    return;
  }
  kube.transform = (path, body) => {
    if (visible === "none") return { ...body, items: [] };
    if (!/\/(services|ingresses)$/.test(path)) return body;
    const items = (body.items ?? []).filter((o) => {
      const m = (o as { metadata: { namespace: string; name: string } }).metadata;
      return visible.includes(`${m.namespace}/${m.name}`);
    });
    return { ...body, items };
  };
}

before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  seeded = await seedScenario(sandbox, sandbox.info.motoUrl, fiveGroupScenario(CLUSTER));
  ec2 = directEc2(sandbox);
  proxy = await startProxy(sandbox);
  kube = await startKubeProxy(sandbox, 500);
  const g1 = seeded.securityGroupIds[`${CLUSTER}-g1`]!;
  const handMade = await authorizeForeign(
    ec2,
    g1,
    seeded.nodePort("shop/frontend", "http"),
    seeded.backendSecurityGroupId,
  );
  foreign = await snapshotForeign(ec2, [handMade]);
});

after(async () => {
  await kube?.close();
  await proxy?.close();
  ec2?.destroy();
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  await sandbox.stop();
});

test("a kubeconfig pointing at an empty cluster: update refuses with the exact message, revokes nothing; confirmMassRevoke lets it proceed", async () => {
  onlyObjects("all");
  const base = await up(undefined, inputs());
  assert.equal(base.error, undefined, base.error?.message);
  const ours = await ownedKeysInEc2(ec2, OWNER);
  assert.equal(ours.length, 14); // 5 SGs x 3 ports, less the one the hand-made rule satisfies

  onlyObjects("none");
  proxy.resetCounts();
  const refused = await up(base.state, inputs());
  assert.equal(refused.failures, undefined, JSON.stringify(refused.failures));
  assert.equal(
    refused.error?.message,
    `refusing to revoke 14 of the 14 rules owned by "${OWNER}" (more than maxRevokeFraction 0.5); if the cluster really lost these workloads, set confirmMassRevoke: true for one update`,
  );
  assert.equal(mutations(proxy), 0);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), ours);

  const confirmed = await up(refused.state, inputs({ confirmMassRevoke: true }));
  assert.equal(confirmed.error, undefined, confirmed.error?.message);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);
  assert.deepEqual(confirmed.state!.outputs.rules, {});
  assert.deepEqual(await snapshotForeign(ec2, [foreign[0]!.ruleId]), foreign);

  // the cluster comes back: the next up restores everything
  onlyObjects("all");
  const back = await up(confirmed.state, inputs());
  assert.equal(back.error, undefined, back.error?.message);
  await assertConverged(ec2, back.state!, foreign, "after the cluster came back");
  await destroy(back.state!);
});

test("thresholds: 1 of 1 refuses at the default; exactly half proceeds; 0 refuses any revoke; 1 allows all", async () => {
  const g1 = seeded.securityGroupIds[`${CLUSTER}-g1`]!;
  const oneSg = { targetSecurityGroupIds: [g1] };
  // one rule: the NLB's port on g1
  onlyObjects(["shop/checkout-nlb"]);
  const one = await up(undefined, inputs(oneSg));
  assert.equal(one.error, undefined, one.error?.message);
  assert.equal((await ownedKeysInEc2(ec2, OWNER)).length, 1);
  onlyObjects([]);
  const oneOfOne = await up(one.state, inputs(oneSg));
  assert.match(
    oneOfOne.error?.message ?? "",
    /^refusing to revoke 1 of the 1 rules owned by "faults\/guard" \(more than maxRevokeFraction 0.5\)/,
  );
  const all = await up(one.state, inputs({ ...oneSg, maxRevokeFraction: 1 }));
  assert.equal(all.error, undefined, all.error?.message);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);

  // two rules of ours on g1 (cart and the NLB; the frontend's is the hand-made one), then the NLB goes
  onlyObjects("all");
  const two = await up(all.state, inputs(oneSg));
  assert.equal(two.error, undefined, two.error?.message);
  assert.equal((await ownedKeysInEc2(ec2, OWNER)).length, 2);
  onlyObjects(["shop/frontend", "shop/cart"]);
  const zero = await up(two.state, inputs({ ...oneSg, maxRevokeFraction: 0 }));
  assert.match(
    zero.error?.message ?? "",
    /^refusing to revoke 1 of the 2 rules owned by "faults\/guard" \(more than maxRevokeFraction 0\)/,
  );
  const half = await up(two.state, inputs(oneSg));
  assert.equal(half.error, undefined, half.error?.message);
  assert.equal((await ownedKeysInEc2(ec2, OWNER)).length, 1);
  await assertConverged(ec2, half.state!, foreign, "after half revoked");
  await destroy(half.state!);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);
});
