// The provider object against the sandbox (real kube-apiserver, moto behind the counting proxy), driven as the
// Pulumi engine drives it: check -> diff -> create/update with the checked inputs, read, delete.
//
// Not proven here: the Pulumi engine itself (serialization of the provider, secrets in the state file, the CLI's
// preview rendering: test/e2e and the demo cover those), EC2's eventual consistency and real pagination sizes
// (moto answers at once, in one page), and throttling under load (test/bench, the proxy's own tests).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CreateSecurityGroupCommand, DeleteSecurityGroupCommand } from "@aws-sdk/client-ec2";
import { OWNER_TAG_KEY } from "../../provider/domain/model";
import { ruleDescription } from "../../provider/domain/rules";
import { type BackendSecurityGroupRulesOutputs as Outputs, UNKNOWN } from "../../provider/inputs";
import {
  ALB_CONTROLLER,
  clearCluster,
  LBC_NLB_CLASS,
  type Scenario,
  type ScenarioService,
  type SeededCluster,
} from "../sandbox/seed";
import {
  authorizeOutOfBand,
  check,
  checked,
  create,
  type Deployed,
  destroy,
  diff,
  freshCluster,
  type Harness,
  inputsFor,
  liveRules,
  mutatingCalls,
  read,
  rejection,
  revokeOutOfBand,
  startHarness,
  stopHarness,
  tcpKey,
  up,
  update,
} from "./harness";

const SVC_SGS = "service.beta.kubernetes.io/aws-load-balancer-security-groups";
const SVC_MANAGE = "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";
const SVC_TARGET = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";
const ING_SGS = "alb.ingress.kubernetes.io/security-groups";
const ING_MANAGE = "alb.ingress.kubernetes.io/manage-backend-security-group-rules";
const ING_GROUP = "alb.ingress.kubernetes.io/group.name";
const FRONTEND_SG = "sg-0123456789abcdef0";
const LBC_MARKER = "elbv2.k8s.aws/targetGroupBinding";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await stopHarness(h);
});

/** An instance-target NLB through the LBC, one TCP port (its nodePort is the rule's port). */
function nlb(namespace: string, name: string, annotations: Record<string, string> = {}): ScenarioService {
  return {
    namespace,
    name,
    loadBalancerClass: LBC_NLB_CLASS,
    annotations: { [SVC_TARGET]: "instance", ...annotations },
    ports: [{ name: "http", port: 80, targetPort: 8080 }],
  };
}

/** `groups` node groups of one node each, every group in its own cluster-tagged SG `<cluster>-n<i>`. */
function scenario(clusterName: string, namespace: string, services: ScenarioService[], groups = 2): Scenario {
  return {
    clusterName,
    namespaces: [namespace],
    nodeGroups: Array.from({ length: groups }, (_, i) => ({
      name: `g${i + 1}`,
      nodes: 1,
      securityGroups: [{ name: `${clusterName}-n${i + 1}`, clusterTag: true }],
    })),
    services,
    ingresses: [],
  };
}

function nodeSgs(s: SeededCluster, clusterName: string, groups = 2): string[] {
  return Array.from({ length: groups }, (_, i) => s.securityGroupIds[`${clusterName}-n${i + 1}`] as string);
}

/** The desired rules of Services on every node SG: identity -> "Service ns/name". */
function expectedRules(s: SeededCluster, sgs: string[], services: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const svc of services)
    for (const sg of sgs)
      out[tcpKey(sg, s.nodePort(svc, "http"), s.backendSecurityGroupId)] = `Service ${svc}`;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function ownedKeys(sgs: string[], ownerId: string): Promise<string[]> {
  return (await liveRules(h, sgs)).filter((r) => r.ownerTag === ownerId).map((r) => r.key);
}

const FLAG_OFF = `management off: global flag manageBackendSecurityGroupRules=false (frontend security groups set by annotation ${SVC_SGS})`;

describe("provider against the sandbox", () => {
  it("flag off skips objects with explicit frontend SGs (reason: flag) and manages the others; flag on manages both", async () => {
    const c = "flag";
    const s = await freshCluster(
      h,
      scenario(c, "flag", [nlb("flag", "open"), nlb("flag", "explicit", { [SVC_SGS]: FRONTEND_SG })]),
    );
    const sgs = nodeSgs(s, c);
    const owner = "integ/flag";
    const off = await up(h, inputsFor(h, c, owner));
    assert.deepEqual(off.inputs.desiredRules, expectedRules(s, sgs, ["flag/open"]));
    assert.deepEqual(off.inputs.skippedObjects, { "Service flag/explicit": FLAG_OFF });
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 2 });
    assert.deepEqual(await ownedKeys(sgs, owner), Object.keys(expectedRules(s, sgs, ["flag/open"])));

    h.proxy.resetCounts();
    const on = await up(h, inputsFor(h, c, owner, { manageBackendSecurityGroupRules: true }), off);
    assert.equal(on.changes, true);
    assert.deepEqual(on.inputs.desiredRules, expectedRules(s, sgs, ["flag/explicit", "flag/open"]));
    assert.deepEqual(on.inputs.skippedObjects, {});
    // one authorize per SG for the newly managed Service, nothing revoked
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 2 });
    assert.deepEqual(await ownedKeys(sgs, owner), Object.keys(on.inputs.desiredRules ?? {}));
    assert.deepEqual(on.outs.counts, { rules: 4, owned: 4, foreign: 0, skippedObjects: 0 });
    await destroy(h, on.id, on.outs);
  });

  it("the manage annotation beats the flag: true manages with the flag off, false skips with the flag on", async () => {
    const c = "annot";
    const s = await freshCluster(
      h,
      scenario(c, "annot", [
        nlb("annot", "forced", { [SVC_SGS]: FRONTEND_SG, [SVC_MANAGE]: "true" }),
        nlb("annot", "optout", { [SVC_SGS]: FRONTEND_SG, [SVC_MANAGE]: "false" }),
      ]),
    );
    const sgs = nodeSgs(s, c);
    const skipped = { "Service annot/optout": `management off: annotation ${SVC_MANAGE}=false` };
    for (const flag of [false, true]) {
      const inputs = await checked(
        h,
        undefined,
        inputsFor(h, c, "integ/annot", { manageBackendSecurityGroupRules: flag }),
      );
      assert.deepEqual(inputs.desiredRules, expectedRules(s, sgs, ["annot/forced"]), `flag ${flag}`);
      assert.deepEqual(inputs.skippedObjects, skipped, `flag ${flag}`);
    }
    assert.deepEqual(mutatingCalls(h), {});
  });

  it("an Ingress group whose members disagree is a check failure naming the group and members; EC2 is untouched", async () => {
    const c = "group";
    const ns = "group";
    const ing = (name: string, annotations: Record<string, string>) => ({
      namespace: ns,
      name,
      className: "alb",
      annotations: { [ING_GROUP]: "shop", ...annotations },
      backends: [{ service: "web", port: 80 }],
    });
    const base = scenario(c, ns, [
      { namespace: ns, name: "web", type: "NodePort", ports: [{ name: "http", port: 80 }] },
    ]);
    const cases: Array<[string, Scenario["ingresses"], string]> = [
      [
        "manage true vs false",
        [
          ing("a", { [ING_SGS]: FRONTEND_SG, [ING_MANAGE]: "true" }),
          ing("b", { [ING_SGS]: FRONTEND_SG, [ING_MANAGE]: "false" }),
        ],
        `IngressGroup shop: annotation ${ING_MANAGE} is "true on Ingress group/a, false on Ingress group/b"; expected every member that sets it to agree`,
      ],
      [
        "different security-groups lists",
        [
          ing("a", { [ING_SGS]: FRONTEND_SG, [ING_MANAGE]: "true" }),
          ing("b", { [ING_SGS]: `${FRONTEND_SG}, sg-0fedcba9876543210`, [ING_MANAGE]: "true" }),
        ],
        `IngressGroup shop: annotation ${ING_SGS} of Ingress group/b is "${FRONTEND_SG},sg-0fedcba9876543210"; expected the same list as Ingress group/a (${FRONTEND_SG})`,
      ],
    ];
    for (const [what, ingresses, reason] of cases) {
      const s = await freshCluster(h, {
        ...base,
        ingresses,
        ingressClasses: [{ name: "alb", controller: ALB_CONTROLLER }],
      });
      const res = await check(
        h,
        undefined,
        inputsFor(h, c, "integ/group", { manageBackendSecurityGroupRules: true }),
      );
      assert.deepEqual(res.failures, [{ property: "cluster", reason }], what);
      assert.equal(res.inputs?.desiredRules, undefined, what);
      assert.deepEqual(mutatingCalls(h), {}, what);
      assert.deepEqual(await liveRules(h, nodeSgs(s, c)), [], what);
    }
  });

  it("a new Service adds one authorize per SG; a deleted Service's rules are revoked, one revoke per SG, nothing else", async () => {
    const c = "churn";
    const ns = "churn";
    const s = await freshCluster(h, scenario(c, ns, [nlb(ns, "keep")]));
    const sgs = nodeSgs(s, c);
    const owner = "integ/churn";
    const first = await up(h, inputsFor(h, c, owner));
    const keepIds = (await liveRules(h, sgs)).map((r) => r.ruleId);

    const created = await h.sandbox.kubeRequest("POST", `/api/v1/namespaces/${ns}/services`, {
      metadata: { name: "added", annotations: { [SVC_TARGET]: "instance" } },
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: LBC_NLB_CLASS,
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      },
    });
    assert.equal(created.status, 201);
    const addedPort =
      (created.body as { spec: { ports: Array<{ nodePort: number }> } }).spec.ports[0]?.nodePort ?? 0;
    const addedKeys = sgs.map((sg) => tcpKey(sg, addedPort, s.backendSecurityGroupId));
    h.proxy.resetCounts();
    const second = await up(h, inputsFor(h, c, owner), first);
    assert.equal(second.changes, true);
    assert.deepEqual(
      Object.keys(second.inputs.desiredRules ?? {}),
      [...Object.keys(expectedRules(s, sgs, [`${ns}/keep`])), ...addedKeys].sort(),
    );
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 2 });

    const deleted = await h.sandbox.kubeRequest("DELETE", `/api/v1/namespaces/${ns}/services/added`);
    assert.equal(deleted.status, 200);
    h.proxy.resetCounts();
    const third = await up(h, inputsFor(h, c, owner), second);
    assert.deepEqual(third.inputs.desiredRules, expectedRules(s, sgs, [`${ns}/keep`]));
    assert.deepEqual(mutatingCalls(h), { RevokeSecurityGroupIngress: 2 });
    // the kept Service's rules are the very same EC2 rules as after the first apply
    assert.deepEqual(
      (await liveRules(h, sgs)).map((r) => r.ruleId),
      keepIds,
    );
    assert.equal((await up(h, inputsFor(h, c, owner), third)).changes, false);
    await destroy(h, third.id, third.outs);
  });

  it("identical hand-made and LBC-marked rules are satisfied by someone else, never duplicated or revoked; adopt takes only the hand-made one", async () => {
    const c = "foreign";
    const ns = "foreign";
    const s = await freshCluster(h, scenario(c, ns, [nlb(ns, "hand"), nlb(ns, "lbc")], 1));
    const [sg] = nodeSgs(s, c, 1) as [string];
    const src = s.backendSecurityGroupId;
    const handKey = tcpKey(sg, s.nodePort(`${ns}/hand`, "http"), src);
    const lbcKey = tcpKey(sg, s.nodePort(`${ns}/lbc`, "http"), src);
    await authorizeOutOfBand(h, sg, s.nodePort(`${ns}/hand`, "http"), src, "opened by hand");
    await authorizeOutOfBand(h, sg, s.nodePort(`${ns}/lbc`, "http"), src, `${LBC_MARKER}=shared`, [
      { Key: LBC_MARKER, Value: "shared" },
    ]);
    const rulesBefore = await liveRules(h, [sg]);
    h.proxy.resetCounts();

    const owner = "integ/foreign";
    const plain = await up(h, inputsFor(h, c, owner));
    assert.deepEqual(mutatingCalls(h), {});
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(plain.outs.rules).map(([k, r]) => [k, { owned: r.owned, ruleId: r.ruleId }]),
      ),
      {
        [handKey]: { owned: false, ruleId: rulesBefore.find((r) => r.key === handKey)?.ruleId },
        [lbcKey]: { owned: false, ruleId: rulesBefore.find((r) => r.key === lbcKey)?.ruleId },
      },
    );
    assert.deepEqual(plain.outs.counts, { rules: 2, owned: 0, foreign: 2, skippedObjects: 0 });
    await destroy(h, plain.id, plain.outs);
    assert.deepEqual(mutatingCalls(h), {});
    assert.deepEqual(await liveRules(h, [sg]), rulesBefore);

    // Adopt: the hand-made rule gets our tag; the LBC-marked one never does (the LBC still manages it, and once
    // tagged ours, our delete would revoke it from under the LBC).
    h.proxy.resetCounts();
    const adopting = await up(h, inputsFor(h, c, "integ/adopt", { adoptExistingRules: true }));
    assert.deepEqual(mutatingCalls(h), { CreateTags: 1 });
    assert.equal(adopting.outs.rules[handKey]?.owned, true);
    assert.equal(adopting.outs.rules[lbcKey]?.owned, false);
    const live = await liveRules(h, [sg]);
    assert.deepEqual(
      live.map((r) => [r.key, r.ownerTag, r.tags[LBC_MARKER]]),
      [
        [handKey, "integ/adopt", undefined],
        [lbcKey, undefined, "shared"],
      ].sort(([a], [b]) => ((a ?? "") < (b ?? "") ? -1 : 1)),
    );
    // Delete revokes the adopted rule (it is ours now) and leaves the LBC's.
    h.proxy.resetCounts();
    await destroy(h, adopting.id, adopting.outs);
    assert.deepEqual(mutatingCalls(h), { RevokeSecurityGroupIngress: 1 });
    assert.deepEqual(
      (await liveRules(h, [sg])).map((r) => r.key),
      [lbcKey],
    );
  });

  it("an ENI with two cluster-tagged SGs is a check failure naming the ENI and both SGs", async () => {
    const c = "twosg";
    const s = await freshCluster(h, {
      ...scenario(c, "twosg", [nlb("twosg", "web")]),
      nodeGroups: [
        {
          name: "g1",
          nodes: 1,
          securityGroups: [
            { name: `${c}-a`, clusterTag: true },
            { name: `${c}-b`, clusterTag: true },
          ],
        },
      ],
    });
    const res = await check(h, undefined, inputsFor(h, c, "integ/twosg"));
    const eni = s.nodes[0]?.eniId ?? "";
    const [a, b] = [s.securityGroupIds[`${c}-a`] ?? "", s.securityGroupIds[`${c}-b`] ?? ""].sort();
    assert.equal(res.failures?.length, 1);
    assert.equal(res.failures?.[0]?.property, "cluster");
    const reason = res.failures?.[0]?.reason ?? "";
    assert.ok(reason.startsWith(`ENI ${eni}: `), reason);
    assert.ok(reason.includes(`${a}`) && reason.includes(`${b}`), reason);
    assert.ok(reason.includes(`kubernetes.io/cluster/${c}`), reason);
    assert.deepEqual(mutatingCalls(h), {});
  });

  it("refresh drops a rule revoked out of band; the next check+diff reports changes and update restores it", async () => {
    const c = "refresh";
    const s = await freshCluster(h, scenario(c, "refresh", [nlb("refresh", "web")]));
    const sgs = nodeSgs(s, c);
    const owner = "integ/refresh";
    const deployed = await up(h, inputsFor(h, c, owner));
    const victimKey = tcpKey(sgs[1] as string, s.nodePort("refresh/web", "http"), s.backendSecurityGroupId);
    const victim = deployed.outs.rules[victimKey];
    assert.ok(victim?.ruleId);
    await revokeOutOfBand(h, victim.securityGroupId, victim.ruleId);

    const refreshed = await read(h, deployed);
    assert.equal(refreshed.rules[victimKey], undefined);
    assert.deepEqual(
      Object.keys(refreshed.rules),
      Object.keys(deployed.outs.rules).filter((k) => k !== victimKey),
    );
    assert.equal(refreshed.counts.rules, 1);
    const afterRefresh: Deployed = {
      id: deployed.id,
      inputs: refreshed as unknown as Deployed["inputs"],
      outs: refreshed,
    };
    h.proxy.resetCounts();
    const inputs = await checked(h, afterRefresh.inputs, inputsFor(h, c, owner));
    assert.equal(await diff(afterRefresh, inputs), true);
    const restored = await update(h, afterRefresh, inputs);
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 1 });
    assert.deepEqual(await ownedKeys(sgs, owner), Object.keys(expectedRules(s, sgs, ["refresh/web"])));
    assert.equal(restored.outs.counts.owned, 2);
    await destroy(h, restored.id, restored.outs);
  });

  it("delete revokes only our tagged rules, tolerates rules and SGs already gone, and never needs the cluster", async () => {
    const c = "del";
    const s = await freshCluster(h, scenario(c, "del", [nlb("del", "a"), nlb("del", "b")]));
    const sgs = nodeSgs(s, c);
    const owner = "integ/del";
    const deployed = await up(h, inputsFor(h, c, owner));
    assert.equal(deployed.outs.counts.owned, 4);
    // someone else's rule on the same SG, another stack's rule, and one of ours already revoked
    await authorizeOutOfBand(h, sgs[0] as string, 8443, s.backendSecurityGroupId, "opened by hand");
    await authorizeOutOfBand(h, sgs[0] as string, 9443, s.backendSecurityGroupId, "other stack", [
      { Key: OWNER_TAG_KEY, Value: "integ/other-stack" },
    ]);
    const gone = Object.values(deployed.outs.rules)[0];
    assert.ok(gone?.ruleId);
    await revokeOutOfBand(h, gone.securityGroupId, gone.ruleId);
    // a rule in state on a security group deleted since
    const vpcSg = await h.ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "deleted-later", Description: "x", VpcId: s.vpcId }),
    );
    const deletedSg = vpcSg.GroupId ?? "";
    await h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: deletedSg }));
    const ghostKey = tcpKey(deletedSg, 30999, s.backendSecurityGroupId);
    const outs: Outputs = {
      ...deployed.outs,
      // the cluster is unreachable: a kubeconfig pointing at a closed port (delete must not read it)
      cluster: {
        name: c,
        kubeconfig: h.kubeconfig.replace(/server: .*/, "server: https://127.0.0.1:1"),
      } as Outputs["cluster"],
      rules: {
        ...deployed.outs.rules,
        [ghostKey]: {
          securityGroupId: deletedSg,
          protocol: "tcp",
          fromPort: 30999,
          toPort: 30999,
          sourceSecurityGroupId: s.backendSecurityGroupId,
          ruleId: "sgr-0123456789abcdef0",
          owned: true,
          neededBy: [],
        },
      },
    };
    h.proxy.resetCounts();
    await destroy(h, deployed.id, outs);
    assert.deepEqual(mutatingCalls(h), { RevokeSecurityGroupIngress: 2 });
    assert.deepEqual(
      (await liveRules(h, sgs)).map((r) => [r.key, r.ownerTag ?? "", r.description ?? ""]),
      [
        [tcpKey(sgs[0] as string, 8443, s.backendSecurityGroupId), "", "opened by hand"],
        [tcpKey(sgs[0] as string, 9443, s.backendSecurityGroupId), "integ/other-stack", "other stack"],
      ],
    );
    // a second delete (the engine retrying) finds nothing of ours and changes nothing
    h.proxy.resetCounts();
    await destroy(h, deployed.id, outs);
    assert.deepEqual(mutatingCalls(h), {});
  });

  it("a failed authorize on the 2nd of 3 SGs throws id + properties recording exactly what was applied; the next update converges", async () => {
    const c = "partial";
    const s = await freshCluster(h, scenario(c, "partial", [nlb("partial", "web")], 3));
    const sgs = nodeSgs(s, c, 3);
    const owner = "integ/partial";
    const inputs = await checked(h, undefined, inputsFor(h, c, owner));
    h.proxy.configure({
      faults: [
        { action: "AuthorizeSecurityGroupIngress", kind: { code: "UnauthorizedOperation" }, schedule: [2] },
      ],
    });
    h.proxy.resetCounts();
    const err = await rejection(h, () =>
      create(h, { ...inputs, __provider: "serialized-provider" } as typeof inputs),
    );
    h.proxy.configure({ faults: [] });
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 3 });
    const partial = err as Error & { id?: string; properties?: Outputs & { __provider?: string } };
    assert.equal(partial.id, owner);
    assert.ok(partial.properties, "the error carries properties");
    assert.equal(partial.properties.__provider, "serialized-provider");
    assert.match(err.message, /UnauthorizedOperation/);
    assert.match(err.message, /what was applied is recorded, run the update again/);
    const live = await liveRules(h, sgs);
    assert.equal(live.length, 2);
    // state records exactly the two rules EC2 holds, with their ids, as ours
    assert.deepEqual(
      Object.entries(partial.properties.rules)
        .map(([k, r]) => [k, r.ruleId, r.owned])
        .sort(),
      live.map((r) => [r.key, r.ruleId, true]).sort(),
    );
    assert.ok(live.every((r) => r.ownerTag === owner && r.description === ruleDescription(owner)));

    const prev: Deployed = { id: owner, inputs, outs: partial.properties };
    h.proxy.resetCounts();
    const converged = await up(h, inputsFor(h, c, owner), prev);
    assert.equal(converged.changes, true);
    assert.deepEqual(mutatingCalls(h), { AuthorizeSecurityGroupIngress: 1 });
    const rulesAfter = await liveRules(h, sgs);
    assert.deepEqual(
      rulesAfter.map((r) => r.key),
      Object.keys(expectedRules(s, sgs, ["partial/web"])),
    );
    assert.ok(rulesAfter.every((r) => r.ownerTag === owner));
    assert.equal(converged.outs.counts.owned, 3);
    assert.equal((await up(h, inputsFor(h, c, owner), converged)).changes, false);
    await destroy(h, converged.id, converged.outs);
  });

  it("an empty cluster after an apply makes update refuse the mass revocation unless confirmMassRevoke is set", async () => {
    const c = "mass";
    const s = await freshCluster(h, scenario(c, "mass", [nlb("mass", "web")]));
    const sgs = nodeSgs(s, c);
    const owner = "integ/mass";
    const deployed = await up(h, inputsFor(h, c, owner));
    const rulesBefore = await liveRules(h, sgs);
    assert.equal(rulesBefore.length, 2);

    await clearCluster(h.sandbox);
    h.proxy.resetCounts();
    const emptied = await checked(h, deployed.inputs, inputsFor(h, c, owner));
    assert.deepEqual(emptied.desiredRules, {});
    assert.equal(await diff(deployed, emptied), true);
    const err = await rejection(h, () => update(h, deployed, emptied));
    assert.equal(
      err.message,
      `refusing to revoke 2 of the 2 rules owned by "${owner}" (more than maxRevokeFraction 0.5); if the cluster really lost these workloads, set confirmMassRevoke: true for one update`,
    );
    assert.deepEqual(mutatingCalls(h), {});
    assert.deepEqual(await liveRules(h, sgs), rulesBefore);

    const confirmed = await checked(h, deployed.inputs, inputsFor(h, c, owner, { confirmMassRevoke: true }));
    const done = await update(h, deployed, confirmed);
    assert.deepEqual(mutatingCalls(h), { RevokeSecurityGroupIngress: 2 });
    assert.deepEqual(await liveRules(h, sgs), []);
    assert.deepEqual(done.outs.rules, {});
  });

  it("an unknown kubeconfig during preview gives unknown desiredRules, with no read and a diff that reports changes", async () => {
    await freshCluster(h, scenario("unknown", "unknown", [nlb("unknown", "web")]));
    const news = { cluster: { name: "unknown", kubeconfig: UNKNOWN }, ownerId: "integ/unknown" };
    const res = await check(h, undefined, news);
    assert.deepEqual(res.failures ?? [], []);
    assert.equal(res.inputs?.desiredRules, UNKNOWN);
    assert.equal(res.inputs?.skippedObjects, UNKNOWN);
    assert.deepEqual(h.proxy.counts(), {});
    const prev: Deployed = {
      id: "integ/unknown",
      inputs: news,
      outs: {
        ...news,
        cluster: { name: "unknown" },
        stateVersion: 1,
        rules: {},
        counts: { rules: 0, owned: 0, foreign: 0, skippedObjects: 0 },
      },
    };
    assert.ok(res.inputs);
    assert.equal(await diff(prev, res.inputs), true);
  });

  it("a kubeconfig for another cluster is a check failure on cluster naming the cluster, the instances and their tags", async () => {
    const s = await freshCluster(h, scenario("a", "ident", [nlb("ident", "web")]));
    // No backend SG given: the identity check runs before the backend SG is looked up by the cluster's name, so
    // the failure names the real cause rather than "no backend security group found for cluster b".
    const res = await check(h, undefined, inputsFor(h, "b", "integ/ident"));
    const [n1, n2] = s.nodes.map((n) => n.instanceId).sort();
    const found = (id: string | undefined) => `${id} (eks:cluster-name=a, kubernetes.io/cluster/a=owned)`;
    assert.deepEqual(res.failures, [
      {
        property: "cluster",
        reason:
          `cluster "b": node instances is "${found(n1)}; ${found(n2)}"; ` +
          "expected at least one of the 2 node instances checked to carry tag kubernetes.io/cluster/b or eks:cluster-name=b " +
          "(the kubeconfig seems to point at another cluster; planning against it would revoke this cluster's rules)",
      },
    ]);
    assert.equal(res.inputs?.desiredRules, undefined);
    assert.deepEqual(mutatingCalls(h), {});
    // the same cluster under its own name plans
    const ok = await checked(h, undefined, inputsFor(h, "a", "integ/ident"));
    assert.equal(Object.keys(ok.desiredRules ?? {}).length, 2);
  });

  it("when the cluster and EC2 both fail, check reports the cluster, and leaves no EC2 request in flight", async () => {
    // Before the fix the two reads raced under Promise.all: the property was "cluster" or "region" by timing, and
    // the EC2 client was destroyed under the other request (the proxy then hit a destroyed socket).
    await freshCluster(h, scenario("both", "both", [nlb("both", "web")]));
    h.proxy.configure({
      faults: [
        { action: "DescribeSecurityGroupRules", kind: { code: "UnauthorizedOperation" }, schedule: [1] },
      ],
    });
    const unreachable = h.kubeconfig.replace(/server: .*/, "server: https://127.0.0.1:1");
    const res = await check(h, undefined, {
      cluster: { name: "both", kubeconfig: unreachable },
      ownerId: "integ/both",
    });
    h.proxy.configure({ faults: [] });
    assert.equal(res.failures?.length, 1);
    assert.equal(res.failures?.[0]?.property, "cluster");
    assert.match(
      res.failures?.[0]?.reason ?? "",
      /^cluster "both": cannot reach the API server https:\/\/127\.0\.0\.1:1 /,
    );
    assert.deepEqual(h.proxy.counts(), { DescribeSecurityGroupRules: 1 });
  });

  it("no check failure, thrown error or output carries the kubeconfig's token", async () => {
    // Every harness call above already asserted this for its result; here the failure paths that quote the
    // cluster: a missing context, an unreachable server, a wrong token.
    await freshCluster(h, scenario("secret", "secret", [nlb("secret", "web")]));
    const kubeconfigs = [
      { kubeconfig: h.kubeconfig, context: "nope" },
      { kubeconfig: h.kubeconfig.replace(/server: .*/, "server: https://127.0.0.1:1") },
      { kubeconfig: `${h.kubeconfig.split(h.token).join(`${h.token}x`)}` },
    ];
    for (const k of kubeconfigs) {
      const res = await check(h, undefined, { cluster: { name: "secret", ...k }, ownerId: "integ/secret" });
      assert.equal(res.failures?.length, 1, JSON.stringify(res.failures));
      assert.equal(res.failures?.[0]?.property, "cluster");
      // (the harness's check asserted the failures carry neither the token nor the kubeconfig)
    }
    const deployed = await up(h, inputsFor(h, "secret", "integ/secret"));
    assert.ok(!JSON.stringify(deployed.outs).includes(h.token));
    assert.equal((deployed.outs.cluster as Record<string, unknown>).kubeconfig, undefined);
    await destroy(h, deployed.id, deployed.outs);
  });
});
