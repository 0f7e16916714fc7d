// The diff against EC2 and the port modes. The world is one SG (sg-node) on both nodes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OWNER_TAG_KEY, planRules, TRANSITION_RESERVE } from "../../provider/domain/index.js";
import { cluster, ec2, existing, LBC, nlb, opts } from "./builders.js";

const ports = (...nodePorts: number[]) =>
  nodePorts.map((p, i) => ({ name: `p${i}`, port: 1000 + i, targetPort: 8000 + i, nodePort: p }));
const svcWith = (...nodePorts: number[]) =>
  cluster({ services: [nlb("a", "x", { ports: ports(...nodePorts) })] });
const K = (from: number, to = from, proto = "tcp") => `sg-node|${proto}|${from}-${to}|sg-backend`;

describe("existing rules", () => {
  test("an owned identical rule is present, not authorized", () => {
    const plan = planRules(
      svcWith(30080),
      ec2({ rules: { "sg-node": [existing({ from: 30080 }, undefined, "sgr-1")] } }),
      opts(),
    );
    assert.equal(plan.rules[K(30080)]?.state, "present");
    assert.equal(plan.rules[K(30080)]?.ruleId, "sgr-1");
    assert.deepEqual(plan.toAuthorize, []);
    assert.deepEqual(plan.toRevoke, []);
  });
  test("an owned rule no longer needed is revoked", () => {
    const stale = existing({ from: 30099 }, undefined, "sgr-9");
    const plan = planRules(svcWith(30080), ec2({ rules: { "sg-node": [stale] } }), opts());
    assert.deepEqual(plan.toRevoke, [stale]);
    assert.deepEqual(
      plan.toAuthorize.map((r) => r.key),
      [K(30080)],
    );
  });
  test("owned rules on an SG that is no longer a destination are revoked", () => {
    const stale = existing({ sg: "sg-old", from: 30080 }, undefined, "sgr-old");
    const plan = planRules(svcWith(30080), ec2({ rules: { "sg-old": [stale] } }), opts());
    assert.deepEqual(
      plan.toRevoke.map((r) => r.ruleId),
      ["sgr-old"],
    );
  });
  const foreignCases: Array<[string, Record<string, string>]> = [
    ["LBC-marked", { [LBC]: "shared" }],
    ["hand-made", {}],
    ["another owner's", { [OWNER_TAG_KEY]: "stack-b" }],
  ];
  for (const [who, tags] of foreignCases) {
    test(`an identical ${who} rule satisfies the need and is never revoked or duplicated`, () => {
      const plan = planRules(
        svcWith(30080),
        ec2({ rules: { "sg-node": [existing({ from: 30080 }, tags, "sgr-f")] } }),
        opts(),
      );
      assert.equal(plan.rules[K(30080)]?.state, "foreign");
      assert.deepEqual(
        plan.satisfiedByForeign.map((r) => r.ruleId),
        ["sgr-f"],
      );
      assert.deepEqual(plan.toAuthorize, []);
      assert.deepEqual(plan.toRevoke, []);
    });
  }
  test("a non-owned rule that is not needed is left alone", () => {
    const plan = planRules(
      svcWith(30080),
      ec2({ rules: { "sg-node": [existing({ from: 22 }, {}, "sgr-ssh")] } }),
      opts(),
    );
    assert.deepEqual(plan.toRevoke, []);
  });
  test("with adopt on, an identical untagged rule is adopted", () => {
    const plan = planRules(
      svcWith(30080),
      ec2({ rules: { "sg-node": [existing({ from: 30080 }, {}, "sgr-a")] } }),
      opts({ adoptExistingRules: true }),
    );
    assert.equal(plan.rules[K(30080)]?.state, "adopt");
    assert.deepEqual(
      plan.toAdopt.map((a) => a.existing.ruleId),
      ["sgr-a"],
    );
  });
  // The LBC still manages its own rules: adopting one would let our delete revoke it from under the LBC.
  for (const [marker, tags, description] of [
    ["tag", { [LBC]: "shared" }, undefined],
    ["description", {}, `${LBC}=shared`],
  ] as const) {
    test(`with adopt on, a rule carrying the LBC's ${marker} marker is never adopted`, () => {
      const rule = {
        ...existing({ from: 30080 }, { ...tags }, "sgr-lbc"),
        ...(description ? { description } : {}),
      };
      const plan = planRules(
        svcWith(30080),
        ec2({ rules: { "sg-node": [rule] } }),
        opts({ adoptExistingRules: true }),
      );
      assert.equal(plan.rules[K(30080)]?.state, "foreign");
      assert.deepEqual(plan.toAdopt, []);
      assert.deepEqual(plan.toRevoke, []);
    });
  }
  test("with adopt on, another owner's rule is never adopted", () => {
    const plan = planRules(
      svcWith(30080),
      ec2({ rules: { "sg-node": [existing({ from: 30080 }, { [OWNER_TAG_KEY]: "stack-b" })] } }),
      opts({ adoptExistingRules: true }),
    );
    assert.equal(plan.rules[K(30080)]?.state, "foreign");
    assert.deepEqual(plan.toAdopt, []);
  });
  test("a CIDR rule with the same ports is not identical (only SG sources count)", () => {
    const cidr = {
      ...existing({ from: 30080 }, {}),
      sourceSecurityGroupId: undefined,
      cidr: "10.0.0.0/16",
    } as const;
    const { sourceSecurityGroupId: _, ...rule } = cidr;
    const plan = planRules(svcWith(30080), ec2({ rules: { "sg-node": [rule] } }), opts());
    assert.deepEqual(
      plan.toAuthorize.map((r) => r.key),
      [K(30080)],
    );
  });
  test("protocols reported by number compare equal to names", () => {
    const plan = planRules(
      svcWith(30080),
      ec2({ rules: { "sg-node": [existing({ from: 30080, proto: "6" })] } }),
      opts(),
    );
    assert.equal(plan.rules[K(30080)]?.state, "present");
  });
});

describe("port modes", () => {
  test("minimal: one rule per exact port", () => {
    assert.deepEqual(Object.keys(planRules(svcWith(30080, 30090), ec2(), opts()).rules), [
      K(30080),
      K(30090),
    ]);
  });
  test("range: lowest to highest per SG, protocol and source, counting the extra ports", () => {
    const plan = planRules(svcWith(30080, 30090), ec2(), opts({ portMode: "range" }));
    assert.deepEqual(Object.keys(plan.rules), [K(30080, 30090)]);
    assert.deepEqual(plan.rules[K(30080, 30090)]?.ports, [30080, 30090]);
    assert.equal(plan.extraPortsOpened, 9);
  });
  test("all: 0-65535", () => {
    const plan = planRules(svcWith(30080), ec2(), opts({ portMode: "all" }));
    assert.deepEqual(Object.keys(plan.rules), [K(0, 65535)]);
    assert.equal(plan.extraPortsOpened, 65535);
  });
  test("the plan reports what each mode would open", () => {
    assert.deepEqual(planRules(svcWith(30080, 30090), ec2(), opts()).extraPortsByMode, {
      minimal: 0,
      range: 9,
      all: 65534,
    });
  });
  test("minimal keeps TRANSITION_RESERVE rules free for the next change's add-before-remove", () => {
    // 7 exact ports, quota 8: without the reserve all 7 would fit, leaving 1 free slot, and a later change
    // swapping two merged rules could not add its new ones before revoking the old.
    const plan = planRules(
      svcWith(30000, 30002, 30004, 30010, 30020, 30030, 30100),
      ec2({ ruleQuota: 8 }),
      opts(),
    );
    // quota 8 - reserve min(5, 8 - 0 foreign - 1 bucket) = 3 rules: gaps 1, 1, 5 and the lower of the two 9s merge
    assert.deepEqual(Object.keys(plan.rules), [K(30000, 30020), K(30030), K(30100)]);
  });
  test("the reserve never makes a plan impossible: it shrinks to what the quota leaves", () => {
    const plan = planRules(svcWith(30000, 30100), ec2({ ruleQuota: 1 }), opts());
    assert.deepEqual(Object.keys(plan.rules), [K(30000, 30100)]);
    assert.deepEqual(plan.problems, []);
  });
  test("minimal over budget merges the smallest gap first", () => {
    const plan = planRules(
      svcWith(30000, 30001, 30010, 30100),
      ec2({ ruleQuota: 2 + TRANSITION_RESERVE }),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [K(30000, 30010), K(30100)]);
    assert.equal(plan.extraPortsOpened, 8);
  });
  test("rules not ours reduce the budget", () => {
    const plan = planRules(
      svcWith(30000, 30002, 30100),
      ec2({ ruleQuota: 3 + TRANSITION_RESERVE, rules: { "sg-node": [existing({ from: 22 }, {})] } }),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [K(30000, 30002), K(30100)]);
  });
  test("our own rules do not reduce the budget", () => {
    const plan = planRules(
      svcWith(30000, 30002, 30100),
      ec2({ ruleQuota: 3 + TRANSITION_RESERVE, rules: { "sg-node": [existing({ from: 1 })] } }),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [K(30000), K(30002), K(30100)]);
  });
  test("a foreign rule identical to a needed exact port does not take an extra slot", () => {
    const plan = planRules(
      svcWith(30000, 30002, 30100),
      ec2({ ruleQuota: 3 + TRANSITION_RESERVE, rules: { "sg-node": [existing({ from: 30100 }, {})] } }),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [K(30000), K(30002), K(30100)]);
    assert.equal(plan.rules[K(30100)]?.state, "foreign");
  });
  test("when one range per protocol cannot fit, a problem names the SG, the count and the quota", () => {
    const c = cluster({
      services: [nlb("a", "x", { ports: [{ name: "u", protocol: "UDP", port: 53, nodePort: 30053 }] })],
    });
    const plan = planRules(
      c,
      ec2({ ruleQuota: 2, rules: { "sg-node": [existing({ from: 22 }, {})] } }),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'SecurityGroup sg-node: rules needed is "2"; expected at most 1 (quota 2 minus 1 rules not owned by stack-a) (one range per protocol and source does not fit; raise the quota or use fewer destination groups)',
      ],
    );
  });
  test("neededBy lists every object behind a merged rule, sorted", () => {
    const c = cluster({
      services: [nlb("b", "y", { ports: ports(30002) }), nlb("a", "x", { ports: ports(30000) })],
    });
    const plan = planRules(c, ec2({ ruleQuota: 1 }), opts());
    assert.deepEqual(plan.rules[K(30000, 30002)]?.neededBy, ["Service a/x", "Service b/y"]);
    assert.deepEqual(plan.rules[K(30000, 30002)]?.ports, [30000, 30002]);
  });
  test("counts summarize the plan", () => {
    const plan = planRules(svcWith(30080), ec2({ rules: { "sg-node": [existing({ from: 1 })] } }), opts());
    assert.deepEqual(plan.counts, {
      ingresses: 0,
      services: 1,
      managedObjects: 1,
      rules: 1,
      toAuthorize: 1,
      toRevoke: 1,
      foreign: 0,
      adopt: 0,
      skipped: 0,
      problems: 0,
    });
  });
});
