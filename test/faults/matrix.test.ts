// The fault matrix at the provider level: each case runs an operation under a fault, then a clean one, and asserts
// on EC2 itself: a hand-made identical rule and an LBC-marked rule survive untouched, EC2 holds exactly the rules
// our state says we own (no orphans, no duplicates) and every needed rule exists. Each case ends with a clean
// delete that must leave only the foreign rules.
// Not proven here: a response lost after EC2 applied a call (the proxy fails calls before forwarding them, so a
// retried Authorize never meets its own first attempt); real EC2's eventual consistency.
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DeleteSecurityGroupCommand, type EC2Client, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import type { BackendSecurityGroupRulesInputs as Inputs } from "../../provider/inputs";
import type { Ec2Proxy, FaultRule } from "../sandbox/ec2-proxy";
import type { Sandbox } from "../sandbox/sandbox";
import type { SeededCluster } from "../sandbox/seed";
import {
  assertConverged,
  check,
  closedPort,
  closeWorld,
  destroy,
  type FaultWorld,
  type ForeignRule,
  fiveGroupWorld,
  httpKubeconfigOf,
  kubeconfigOf,
  mutations,
  ownedKeysInEc2,
  refresh,
  type StackState,
  snapshotForeign,
  startKubeProxy,
  up,
} from "./harness";

const CLUSTER = "faults";
const OWNER = "faults/matrix";
let sandbox: Sandbox;
let seeded: SeededCluster;
let proxy: Ec2Proxy;
let ec2: EC2Client;
let foreign: ForeignRule[];

function inputs(overrides: Partial<Inputs> = {}, kubeconfig = kubeconfigOf(sandbox)): Inputs {
  return {
    manageBackendSecurityGroupRules: true,
    cluster: { name: CLUSTER, kubeconfig },
    ownerId: OWNER,
    ...overrides,
  };
}

let world: FaultWorld | undefined;
before(async () => {
  world = await fiveGroupWorld(CLUSTER);
  ({ sandbox, seeded, ec2, proxy, foreign } = world);
});

after(() => closeWorld(world));

/** A faulted up from nothing, then a clean up, then the invariants, then a clean delete. */
async function faultedThenClean(
  faults: FaultRule[],
  label: string,
): Promise<{ first: Awaited<ReturnType<typeof up>> }> {
  proxy.configure({ faults });
  proxy.resetCounts();
  const first = await up(undefined, inputs());
  const faulted = proxy.faulted();
  assert.ok(Object.keys(faulted).length > 0, `${label}: the fault fired (${JSON.stringify(faulted)})`);
  proxy.configure({ faults: [] });
  const second = await up(first.state, inputs());
  assert.equal(second.error, undefined, `${label}: clean up failed: ${second.error?.message}`);
  assert.equal(second.failures, undefined, `${label}: clean check failed: ${second.failures}`);
  await assertConverged(ec2, second.state!, foreign, label);
  // A second clean up changes nothing (the engine's "second preview is empty").
  proxy.resetCounts();
  const third = await up(second.state, inputs());
  assert.equal(mutations(proxy), 0, `${label}: a converged stack mutates nothing`);
  await destroy(third.state!);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), [], `${label}: delete leaves none of ours`);
  assert.deepEqual(
    await snapshotForeign(
      ec2,
      foreign.map((f) => f.ruleId),
    ),
    foreign,
  );
  return { first };
}

test("EC2 throttling on 30% of calls: the SDK's retries absorb it, the first up already converges", async () => {
  const { first } = await faultedThenClean([{ action: "*", kind: "throttle", rate: 0.3 }], "throttle 30%");
  assert.equal(first.error, undefined, first.error?.message);
  assert.equal(first.failures, undefined);
});

test("EC2 500s on 10% of calls", async () => {
  const { first } = await faultedThenClean([{ action: "*", kind: "http500", rate: 0.1 }], "http500 10%");
  assert.equal(first.error, undefined, first.error?.message);
});

test("connection resets (20% of calls, before EC2 sees them)", async () => {
  const { first } = await faultedThenClean([{ action: "*", kind: "reset", rate: 0.2 }], "reset 20%");
  assert.equal(first.error, undefined, first.error?.message);
});

test("Authorize failing on the 3rd of 5 SGs: the partial error records what was applied; the next up converges", async () => {
  const { first } = await faultedThenClean(
    [
      {
        action: "AuthorizeSecurityGroupIngress",
        kind: { code: "UnauthorizedOperation", status: 403 },
        schedule: [3],
      },
    ],
    "partial apply",
  );
  const err = first.error as Error & { id?: string; properties?: StackState["outputs"] };
  assert.ok(err, "the first up failed");
  assert.match(err.message, /authorizing \d+ rules on security group sg-[0-9a-f]+: UnauthorizedOperation/);
  assert.match(err.message, /what was applied is recorded, run the update again/);
  assert.equal(err.id, OWNER);
  assert.ok(err.properties, "properties recorded");
  const recorded = Object.values(err.properties.rules).filter((r) => r.owned);
  assert.ok(recorded.length > 0 && recorded.every((r) => r.ruleId?.startsWith("sgr-")));
  // not everything: one SG's rules are missing from the partial state
  assert.ok(Object.keys(err.properties.rules).length < Object.keys(first.state!.inputs.desiredRules!).length);
});

test("the partial state is truthful: EC2 holds exactly what the partial error recorded", async () => {
  proxy.configure({
    faults: [
      {
        action: "AuthorizeSecurityGroupIngress",
        kind: { code: "UnauthorizedOperation", status: 403 },
        schedule: [3],
      },
    ],
  });
  const first = await up(undefined, inputs());
  assert.ok(first.error);
  const recorded = Object.entries(first.state!.outputs.rules)
    .filter(([, r]) => r.owned)
    .map(([k]) => k)
    .sort();
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), recorded);
  proxy.configure({ faults: [] });
  const second = await up(first.state, inputs());
  assert.equal(second.error, undefined);
  await assertConverged(ec2, second.state!, foreign, "after partial");
  await destroy(second.state!);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);
});

test("RulesPerSecurityGroupLimitExceeded on Authorize: a clear error naming the SG, nothing revoked", async () => {
  proxy.configure({ faults: [] });
  const base = await up(undefined, inputs());
  assert.equal(base.error, undefined);
  const ownedBefore = await ownedKeysInEc2(ec2, OWNER);
  // One Service replaced by another: the update must add the new port's rules ownedBefore it revokes the old ones.
  await sandbox.kubeRequest("DELETE", "/api/v1/namespaces/shop/services/checkout-nlb");
  const created = await sandbox.kubeRequest("POST", "/api/v1/namespaces/shop/services", {
    metadata: {
      name: "checkout2-nlb",
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance" },
    },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "service.k8s.aws/nlb",
      selector: { app: "c2" },
      ports: [{ name: "https", port: 443, targetPort: 8443 }],
    },
  });
  assert.equal(created.status, 201);
  try {
    proxy.configure({
      faults: [
        {
          action: "AuthorizeSecurityGroupIngress",
          kind: {
            code: "RulesPerSecurityGroupLimitExceeded",
            message: "The maximum number of rules per security group has been reached.",
          },
          schedule: [1],
        },
      ],
    });
    proxy.resetCounts();
    const r = await up(base.state, inputs());
    assert.ok(r.error, "the update failed");
    assert.match(
      r.error.message,
      /on security group sg-[0-9a-f]+: RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been reached\./,
    );
    assert.equal(proxy.counts().RevokeSecurityGroupIngress ?? 0, 0, "nothing revoked");
    // every rule we had is still there (the old port's rules are revoked only after every authorize succeeded)
    const now = await ownedKeysInEc2(ec2, OWNER);
    for (const k of ownedBefore) assert.ok(now.includes(k), `rule ${k} lost`);
    proxy.configure({ faults: [] });
    const clean = await up(r.state, inputs());
    assert.equal(clean.error, undefined, clean.error?.message);
    await assertConverged(ec2, clean.state!, foreign, "after quota error");
    await destroy(clean.state!);
  } finally {
    await sandbox.kubeRequest("DELETE", "/api/v1/namespaces/shop/services/checkout2-nlb");
    await sandbox.kubeRequest("POST", "/api/v1/namespaces/shop/services", {
      metadata: {
        name: "checkout-nlb",
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance" },
      },
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: "service.k8s.aws/nlb",
        selector: { app: "checkout" },
        ports: [{ name: "https", port: 443, targetPort: 8443 }],
      },
    });
  }
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);
});

test("Kubernetes API unreachable at preview and at up: check fails naming the server, before any EC2 call that mutates; nothing revoked", async () => {
  proxy.configure({ faults: [] });
  const base = await up(undefined, inputs());
  assert.equal(base.error, undefined);
  const ownedBefore = await ownedKeysInEc2(ec2, OWNER);
  const port = await closedPort();
  proxy.resetCounts();
  // first preview of a new stack
  const fresh = await check(undefined, inputs({}, kubeconfigOf(sandbox, `https://127.0.0.1:${port}`)));
  // an up of an existing stack (the engine checks ownedBefore it diffs or updates)
  const r = await up(base.state, inputs({}, kubeconfigOf(sandbox, `https://127.0.0.1:${port}`)));
  const expected = `cluster "${CLUSTER}": cannot reach the API server https://127.0.0.1:${port} while listing `;
  for (const failures of [fresh.failures, r.failures]) {
    assert.ok(failures && failures.length === 1, JSON.stringify(failures));
    assert.ok(failures[0]!.startsWith(expected), failures[0]);
    assert.match(failures[0]!, /ECONNREFUSED; check the kubeconfig's server address/);
  }
  assert.equal(r.state, base.state, "state untouched: no update ran");
  assert.equal(mutations(proxy), 0);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), ownedBefore);
  await destroy(base.state!);
});

test("410 Gone on a continue: the list restarts and the result is complete", async () => {
  proxy.configure({ faults: [] });
  const kube = await startKubeProxy(sandbox, 2);
  try {
    const direct = await check(undefined, inputs());
    kube.failNextContinue(410, "/api/v1/nodes");
    const viaProxy = await check(undefined, inputs({}, httpKubeconfigOf(sandbox, kube.server)));
    assert.equal(viaProxy.failures, undefined, JSON.stringify(viaProxy.failures));
    assert.deepEqual(viaProxy.inputs!.desiredRules, direct.inputs!.desiredRules);
    assert.deepEqual(viaProxy.inputs!.skippedObjects, direct.inputs!.skippedObjects);
    // the nodes list was paged (5 nodes at 2 a page) and restarted from the first page after the 410
    const nodeLists = kube.requests.filter((r) => r.startsWith("/api/v1/nodes?"));
    const firstPages = nodeLists.filter((r) => !r.includes("continue="));
    assert.equal(firstPages.length, 2, nodeLists.join("\n"));
    assert.equal(nodeLists.length, 1 + 1 + 3, nodeLists.join("\n")); // 1st page, the 410, then all 3 pages again
  } finally {
    await kube.close();
  }
});

test("500 on a list page: the whole read fails, zero EC2 mutations, nothing planned", async () => {
  proxy.configure({ faults: [] });
  const base = await up(undefined, inputs());
  assert.equal(base.error, undefined);
  const ownedBefore = await ownedKeysInEc2(ec2, OWNER);
  const kube = await startKubeProxy(sandbox, 2);
  try {
    kube.failNextContinue(500, "/api/v1/nodes");
    proxy.resetCounts();
    const r = await up(base.state, inputs({}, httpKubeconfigOf(sandbox, kube.server)));
    assert.deepEqual(r.failures, [
      `cluster "${CLUSTER}": listing nodes on ${kube.server} failed: HTTP 500 injected internal error; check the API server's health and try again`,
    ]);
    assert.equal(mutations(proxy), 0);
    assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), ownedBefore);
  } finally {
    await kube.close();
  }
  await destroy(base.state!);
});

test("a destination SG deleted behind our back: update and delete finish, its rules are dropped from state", async () => {
  proxy.configure({ faults: [] });
  const base = await up(undefined, inputs());
  assert.equal(base.error, undefined);
  const g5 = seeded.securityGroupIds[`${CLUSTER}-g5`]!;
  const node = seeded.nodes.find((n) => n.group === "g5")!;
  // the node group is gone: its instance terminated, its Node deleted, its SG deleted
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [node.instanceId] }));
  await sandbox.kubeRequest("DELETE", `/api/v1/nodes/${node.name}`);
  await ec2.send(new DeleteSecurityGroupCommand({ GroupId: g5 }));
  const refreshed = await refresh(base.state!);
  assert.ok(Object.keys(refreshed.outputs.rules).every((k) => !k.startsWith(g5)));
  const r = await up(refreshed, inputs());
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.failures, undefined, JSON.stringify(r.failures));
  assert.ok(Object.keys(r.state!.outputs.rules).every((k) => !k.startsWith(g5)));
  await assertConverged(ec2, r.state!, foreign, "after SG deleted");
  // delete with a state that still names the deleted SG (no refresh): NotFound means done
  await destroy(base.state!);
  assert.deepEqual(await ownedKeysInEc2(ec2, OWNER), []);
  assert.deepEqual(
    await snapshotForeign(
      ec2,
      foreign.map((f) => f.ruleId),
    ),
    foreign,
  );
});
