// Invariants over random small worlds: NLB Services (instance mode, always managed: no frontend SGs) on two
// nodes in sg-node, random TCP/UDP nodePorts, random existing rules (ours, another owner's, the LBC's, hand-made)
// and a random quota. What this does not prove: anything about ip targets or Ingress decisions.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type ClusterSnapshot,
  type Ec2Snapshot,
  type ExistingRule,
  isOwnedRule,
  OWNER_TAG_KEY,
  type PlanOptions,
  type PortMode,
  planRules,
  type RulePlan,
} from "../../provider/domain/index.js";
import { BACKEND, cluster, ec2, LBC, NODE_SG, nlb, node, OWNER, opts } from "./builders.js";

const portArb = fc.integer({ min: 30000, max: 30040 });
const svcPortsArb = fc.array(fc.record({ udp: fc.boolean(), nodePort: portArb }), {
  minLength: 1,
  maxLength: 4,
});
const ownerArb = fc.constantFrom<Record<string, string>>(
  { [OWNER_TAG_KEY]: OWNER },
  { [OWNER_TAG_KEY]: "stack-b" },
  { [LBC]: "shared" },
  {},
);
const ruleArb = fc.record({
  sg: fc.constantFrom(NODE_SG, "sg-old"),
  proto: fc.constantFrom("tcp", "udp"),
  from: portArb,
  width: fc.integer({ min: 0, max: 3 }),
  tags: ownerArb,
  source: fc.constantFrom(BACKEND, "sg-elsewhere"),
});

interface World {
  cluster: ClusterSnapshot;
  ec2: Ec2Snapshot;
  options: PlanOptions;
  needed: Set<string>;
}

const worldArb = fc
  .record({
    services: fc.array(svcPortsArb, { minLength: 0, maxLength: 5 }),
    rules: fc.array(ruleArb, { maxLength: 8 }),
    quota: fc.integer({ min: 2, max: 30 }),
    mode: fc.constantFrom<PortMode>("minimal", "range", "all"),
    adopt: fc.boolean(),
  })
  .map(({ services, rules, quota, mode, adopt }): World => {
    const needed = new Set<string>();
    const svcs = services.map((ps, i) =>
      nlb(`ns${i % 2}`, `s${i}`, {
        ports: ps.map((p, j) => {
          needed.add(`${p.udp ? "udp" : "tcp"}|${p.nodePort}`);
          if (p.udp) needed.add(`tcp|${p.nodePort}`); // the TCP health check on the traffic port
          return { name: `p${j}`, protocol: p.udp ? "UDP" : "TCP", port: 100 + j, nodePort: p.nodePort };
        }),
      }),
    );
    const existingRules: Record<string, ExistingRule[]> = {};
    rules.forEach((r, i) => {
      const list = existingRules[r.sg] ?? [];
      list.push({
        ruleId: `sgr-${String(i).padStart(3, "0")}`,
        groupId: r.sg,
        protocol: r.proto,
        fromPort: r.from,
        toPort: r.from + r.width,
        sourceSecurityGroupId: r.source,
        tags: r.tags,
      });
      existingRules[r.sg] = list;
    });
    return {
      cluster: cluster({ services: svcs, nodes: [node("n1", "i-1"), node("n2", "i-2")] }),
      ec2: ec2({ rules: existingRules, ruleQuota: quota }),
      options: opts({ portMode: mode, adoptExistingRules: adopt }),
      needed,
    };
  });

const allExisting = (e: Ec2Snapshot): ExistingRule[] => Object.values(e.rules).flat();

test("property: a rule we do not own is never revoked", () => {
  fc.assert(
    fc.property(worldArb, (w) => {
      const plan = planRules(w.cluster, w.ec2, w.options);
      return plan.toRevoke.every((r) => isOwnedRule(r, OWNER));
    }),
    { numRuns: 300 },
  );
});

test("property: every needed (SG, protocol, port) is covered by a desired rule", () => {
  fc.assert(
    fc.property(worldArb, (w) => {
      const plan = planRules(w.cluster, w.ec2, w.options);
      if (plan.problems.length > 0) return true;
      const rules = Object.values(plan.rules);
      return [...w.needed].every((n) => {
        const [proto, port] = n.split("|") as [string, string];
        return rules.some(
          (r) =>
            r.securityGroupId === NODE_SG && r.protocol === proto && r.fromPort <= +port && +port <= r.toPort,
        );
      });
    }),
    { numRuns: 300 },
  );
});

test("property: every desired rule's source is the backend SG, never a CIDR", () => {
  fc.assert(
    fc.property(worldArb, (w) => {
      const plan = planRules(w.cluster, w.ec2, w.options);
      return Object.values(plan.rules).every(
        (r) => r.sourceSecurityGroupId === BACKEND && r.key.endsWith(`|${BACKEND}`),
      );
    }),
    { numRuns: 300 },
  );
});

/** What EC2 looks like after applying the plan: authorized and adopted rules carry our tag; revoked are gone. */
function apply(e: Ec2Snapshot, plan: RulePlan): Ec2Snapshot {
  const revoked = new Set(plan.toRevoke.map((r) => r.ruleId));
  const adopted = new Set(plan.toAdopt.map((a) => a.existing.ruleId));
  const rules: Record<string, ExistingRule[]> = {};
  for (const r of allExisting(e)) {
    if (revoked.has(r.ruleId)) continue;
    const next = adopted.has(r.ruleId) ? { ...r, tags: { ...r.tags, [OWNER_TAG_KEY]: OWNER } } : r;
    rules[r.groupId] = [...(rules[r.groupId] ?? []), next];
  }
  plan.toAuthorize.forEach((d, i) => {
    rules[d.securityGroupId] = [
      ...(rules[d.securityGroupId] ?? []),
      {
        ruleId: `sgr-new-${i}`,
        groupId: d.securityGroupId,
        protocol: d.protocol,
        fromPort: d.fromPort,
        toPort: d.toPort,
        sourceSecurityGroupId: d.sourceSecurityGroupId,
        tags: { [OWNER_TAG_KEY]: OWNER },
      },
    ];
  });
  return { ...e, rules };
}

test("property: applying the plan and planning again gives an empty diff (adopt off)", () => {
  fc.assert(
    fc.property(worldArb, (w0) => {
      const w = { ...w0, options: { ...w0.options, adoptExistingRules: false } };
      const first = planRules(w.cluster, w.ec2, w.options);
      if (first.problems.length > 0) return true;
      const second = planRules(w.cluster, apply(w.ec2, first), w.options);
      assert.deepEqual(second.toAuthorize, []);
      assert.deepEqual(second.toRevoke, []);
      assert.deepEqual(Object.keys(second.rules), Object.keys(first.rules));
      return true;
    }),
    { numRuns: 300 },
  );
});

// With adopt on, an adopted rule becomes ours and so revocable, which can free a slot on a full SG; the next
// plan may then tighten a merged range once. What must hold: it converges by the second apply.
test("property: with adopt on, the plan converges within two applies", () => {
  fc.assert(
    fc.property(worldArb, (w0) => {
      const w = { ...w0, options: { ...w0.options, adoptExistingRules: true } };
      let e = w.ec2;
      for (let round = 0; round < 2; round++) {
        const plan = planRules(w.cluster, e, w.options);
        if (plan.problems.length > 0) return true;
        e = apply(e, plan);
      }
      const last = planRules(w.cluster, e, w.options);
      assert.deepEqual([last.toAuthorize, last.toRevoke, last.toAdopt], [[], [], []]);
      return true;
    }),
    { numRuns: 300 },
  );
});

function shuffled<T>(list: T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test("property: the plan is the same for any input order", () => {
  fc.assert(
    fc.property(worldArb, fc.integer({ min: 1, max: 1_000_000 }), (w, seed) => {
      const a = planRules(w.cluster, w.ec2, w.options);
      const c2: ClusterSnapshot = {
        ...w.cluster,
        services: shuffled(w.cluster.services, seed),
        nodes: shuffled(w.cluster.nodes, seed + 1),
      };
      const rules: Record<string, ExistingRule[]> = {};
      for (const sg of shuffled(Object.keys(w.ec2.rules), seed))
        rules[sg] = shuffled(w.ec2.rules[sg] ?? [], seed + 2);
      const b = planRules(c2, { ...w.ec2, rules }, w.options);
      assert.deepEqual(b, a);
      assert.deepEqual(JSON.stringify(b), JSON.stringify(a));
      return true;
    }),
    { numRuns: 300 },
  );
});
