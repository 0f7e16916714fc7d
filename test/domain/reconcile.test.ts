// The set difference used at apply time (from the identities recorded at check) and inside planRules.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { desiredRulesFromKeys, parseRuleKey, reconcileRules } from "../../provider/domain/reconcile.js";
import { BACKEND, existing, LBC, NODE_SG, OWNER } from "./builders.js";

const key = (from: number, to = from, sg = NODE_SG) => `${sg}|tcp|${from}-${to}|${BACKEND}`;

describe("parseRuleKey", () => {
  test("a rule identity parses back into its parts", () => {
    assert.deepEqual(parseRuleKey("sg-0abc|udp|30000-30010|sg-0def"), {
      securityGroupId: "sg-0abc",
      protocol: "udp",
      fromPort: 30000,
      toPort: 30010,
      sourceSecurityGroupId: "sg-0def",
    });
  });
  for (const bad of [
    "sg-0abc|tcp|80-79|sg-0def", // reversed range
    "sg-0abc|tcp|0-65536|sg-0def", // past the last port
    "sg-0abc|icmp|0-0|sg-0def", // not a protocol we write
    "sg-0abc|tcp|80-80|10.0.0.0/8", // CIDR sources are never ours
    "sg-0abc|tcp|080-80|sg-0def", // not canonical
    "garbage",
  ]) {
    test(`"${bad}" is not one of our identities`, () => assert.equal(parseRuleKey(bad), undefined));
  }
});

describe("desiredRulesFromKeys", () => {
  test("rebuilds rules with the objects that need them, sorted by identity", () => {
    const rules = desiredRulesFromKeys({
      [key(31000)]: "Service a/x, Ingress a/y",
      [key(30000, 30010)]: "Ingress b/z",
    });
    assert.deepEqual(
      rules.map((r) => [r.key, r.ports, r.neededBy, r.state]),
      [
        [key(30000, 30010), [], ["Ingress b/z"], "authorize"],
        [key(31000), [31000], ["Service a/x", "Ingress a/y"], "authorize"],
      ],
    );
  });
  test("identities that are not ours are dropped, never turned into rules", () => {
    assert.deepEqual(desiredRulesFromKeys({ "sg-1|tcp|80-80|0.0.0.0/0": "x" }), []);
  });
});

describe("reconcileRules", () => {
  test("a missing rule is authorized; our identical rule is present; our obsolete rule is revoked", () => {
    const ours = existing({ from: 30001 }, undefined, "sgr-ours");
    const obsolete = existing({ from: 30999 }, undefined, "sgr-old");
    const set = reconcileRules(
      desiredRulesFromKeys({ [key(30000)]: "a", [key(30001)]: "b" }),
      { [NODE_SG]: [ours, obsolete] },
      OWNER,
      false,
    );
    assert.deepEqual(
      set.toAuthorize.map((r) => r.key),
      [key(30000)],
    );
    assert.equal(set.rules[key(30001)]?.state, "present");
    assert.equal(set.rules[key(30001)]?.ruleId, "sgr-ours");
    assert.deepEqual(
      set.toRevoke.map((r) => r.ruleId),
      ["sgr-old"],
    );
  });

  test("an identical hand-made rule satisfies the need and is never revoked or adopted unless asked", () => {
    const hand = existing({ from: 30000 }, {}, "sgr-hand");
    const off = reconcileRules(
      desiredRulesFromKeys({ [key(30000)]: "a" }),
      { [NODE_SG]: [hand] },
      OWNER,
      false,
    );
    assert.equal(off.rules[key(30000)]?.state, "foreign");
    assert.deepEqual(off.toAuthorize, []);
    assert.deepEqual(off.toRevoke, []);
    const on = reconcileRules(
      desiredRulesFromKeys({ [key(30000)]: "a" }),
      { [NODE_SG]: [hand] },
      OWNER,
      true,
    );
    assert.equal(on.rules[key(30000)]?.state, "adopt");
    assert.deepEqual(
      on.toAdopt.map((a) => a.existing.ruleId),
      ["sgr-hand"],
    );
  });

  test("another stack's rule satisfies the need but is never adopted, even with adopt on", () => {
    const theirs = existing({ from: 30000 }, { "lbc-backend-sg/owner": "other/stack/x" }, "sgr-theirs");
    const set = reconcileRules(
      desiredRulesFromKeys({ [key(30000)]: "a" }),
      { [NODE_SG]: [theirs] },
      OWNER,
      true,
    );
    assert.equal(set.rules[key(30000)]?.state, "foreign");
    assert.deepEqual(set.toAdopt, []);
    assert.deepEqual(set.toRevoke, []);
  });

  test("the LBC's own rule is left alone when nothing needs it", () => {
    const lbc = existing({ from: 30000 }, { [LBC]: "shared" }, "sgr-lbc");
    const set = reconcileRules([], { [NODE_SG]: [lbc] }, OWNER, true);
    assert.deepEqual(set.toRevoke, []);
  });

  test("a second copy of one of our rules is revoked, the first is kept", () => {
    const a = existing({ from: 30000 }, undefined, "sgr-a");
    const b = existing({ from: 30000 }, undefined, "sgr-b");
    const set = reconcileRules(
      desiredRulesFromKeys({ [key(30000)]: "a" }),
      { [NODE_SG]: [a, b] },
      OWNER,
      false,
    );
    assert.equal(set.rules[key(30000)]?.ruleId, "sgr-a");
    assert.deepEqual(
      set.toRevoke.map((r) => r.ruleId),
      ["sgr-b"],
    );
  });

  test("with nothing desired, every rule we own is revoked and nothing else", () => {
    const ours = existing({ from: 1 }, undefined, "sgr-1");
    const hand = existing({ from: 2 }, {}, "sgr-2");
    const set = reconcileRules(
      [],
      { [NODE_SG]: [ours, hand], "sg-other": [existing({ sg: "sg-other", from: 3 }, undefined, "sgr-3")] },
      OWNER,
      false,
    );
    assert.deepEqual(
      set.toRevoke.map((r) => r.ruleId),
      ["sgr-1", "sgr-3"],
    );
  });
});
