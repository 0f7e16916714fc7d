// The provider's decisions that need no I/O: an ownerId change is refused before any read, unknown inputs make
// the rules unknown without reading, and diff answers a boolean when the inputs alone decide.
// Not proven here: anything that reads the cluster or EC2 (test/integration/provider.test.ts does).
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  BackendSecurityGroupRulesInputs,
  BackendSecurityGroupRulesOutputs,
} from "../../provider/inputs";
import { UNKNOWN } from "../../provider/inputs";
import { provider } from "../../provider/provider";

const KEY = "sg-0aaaaaaaaaaaaaaaa|tcp|30080-30080|sg-0bbbbbbbbbbbbbbbb";
const base: BackendSecurityGroupRulesInputs = {
  cluster: { name: "prod", kubeconfig: "apiVersion: v1\nusers: [{name: u, user: {token: s3cr3t}}]" },
  ownerId: "proj/stack/rules",
};
const state: BackendSecurityGroupRulesOutputs = {
  cluster: { name: "prod" },
  ownerId: "proj/stack/rules",
  desiredRules: { [KEY]: "Service a/b" },
  skippedObjects: {},
  stateVersion: 1,
  rules: {
    [KEY]: {
      securityGroupId: "sg-0aaaaaaaaaaaaaaaa",
      protocol: "tcp",
      fromPort: 30080,
      toPort: 30080,
      sourceSecurityGroupId: "sg-0bbbbbbbbbbbbbbbb",
      ruleId: "sgr-1",
      owned: true,
      neededBy: ["Service a/b"],
    },
  },
  counts: { rules: 1, owned: 1, foreign: 0, skippedObjects: 0 },
};

describe("check without I/O", () => {
  test("a changed ownerId is refused: the rules carry the old one as their owner tag", async () => {
    const res = await provider.check!(
      { ...base, desiredRules: { [KEY]: "x" } },
      { ...base, ownerId: "new/owner" },
    );
    assert.deepEqual(
      res.failures?.map((f) => f.property),
      ["ownerId"],
    );
    assert.match(
      res.failures?.[0]?.reason ?? "",
      /^ownerId changed from "proj\/stack\/rules" to "new\/owner"; expected the old ownerId/,
    );
  });

  test("a kubeconfig not known yet makes the planned rules unknown, without reading anything", async () => {
    const res = await provider.check!(undefined as unknown as BackendSecurityGroupRulesInputs, {
      ...base,
      cluster: { name: "prod", kubeconfig: UNKNOWN },
    });
    assert.equal(res.failures, undefined);
    assert.equal(res.inputs?.desiredRules as unknown, UNKNOWN);
    assert.equal(res.inputs?.skippedObjects as unknown, UNKNOWN);
  });

  test("input problems are all reported, and never echo the kubeconfig", async () => {
    const res = await provider.check!(undefined as unknown as BackendSecurityGroupRulesInputs, {
      ...base,
      portMode: "tight" as never,
      ruleQuota: 0,
    });
    assert.deepEqual(
      res.failures?.map((f) => f.property),
      ["portMode", "ruleQuota"],
    );
    assert.ok(res.failures?.every((f) => !f.reason.includes("s3cr3t")));
  });
});

describe("diff when the inputs decide", () => {
  test("a new rule identity is a change", async () => {
    const res = await provider.diff!("id", state, {
      ...base,
      desiredRules: { [KEY]: "Service a/b", [`${KEY}x`]: "y" },
    });
    assert.equal(res.changes, true);
  });
  test("a rule no longer needed is a change", async () => {
    const res = await provider.diff!("id", state, { ...base, desiredRules: {} });
    assert.equal(res.changes, true);
  });
  test("an object newly skipped is a change", async () => {
    const res = await provider.diff!("id", state, {
      ...base,
      desiredRules: { [KEY]: "Service a/b" },
      skippedObjects: { "Ingress a/c": "management off" },
    });
    assert.equal(res.changes, true);
  });
  test("rules still unknown during preview are a change, and diff is always a boolean", async () => {
    const res = await provider.diff!("id", state, {
      ...base,
      desiredRules: UNKNOWN as unknown as Record<string, string>,
    });
    assert.equal(res.changes, true);
    assert.deepEqual(res.replaces, undefined);
  });
});
