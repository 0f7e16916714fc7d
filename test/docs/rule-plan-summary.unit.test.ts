// The pipeline example's summary script: Pulumi's preview JSON in, the rule changes as Markdown out.
// Not proven here: the exact JSON a given Pulumi CLI version prints (the fixture follows apitype PreviewDigest:
// steps[].op/urn/oldState/newState with inputs); the e2e stage does not run `pulumi preview --json`.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import {
  diffRules,
  type PreviewDigest,
  parseRuleKey,
  summarizePreview,
} from "../../examples/pipeline/scripts/rule-plan-summary";

const TYPE = "pulumi-nodejs:dynamic/lbc-backend-sg:BackendSecurityGroupRules";
const URN = `urn:pulumi:dev::shop::${TYPE}::backend-rules`;
const A = "sg-0aaaaaaaaaaaaaaaa|tcp|31828-31828|sg-0bbbbbbbbbbbbbbbb";
const B = "sg-0aaaaaaaaaaaaaaaa|tcp|8080-8090|sg-0bbbbbbbbbbbbbbbb";
const C = "sg-0aaaaaaaaaaaaaaaa|udp|32594-32594|sg-0bbbbbbbbbbbbbbbb";

test("a rule key splits into its parts; a single port prints alone", () => {
  assert.deepEqual(parseRuleKey(A), {
    securityGroupId: "sg-0aaaaaaaaaaaaaaaa",
    protocol: "tcp",
    ports: "31828",
    source: "sg-0bbbbbbbbbbbbbbbb",
  });
  assert.equal(parseRuleKey(B).ports, "8080-8090");
});

test("diffRules lists removals then additions, and nothing for rules on both sides", () => {
  const rows = diffRules(
    { [A]: "Ingress a/x", [B]: "Ingress a/y" },
    { [B]: "Ingress a/y", [C]: "Service b/dns" },
  );
  assert.deepEqual(
    rows.map((r) => [r.change, r.protocol, r.ports, r.neededBy]),
    [
      ["remove", "tcp", "31828", "Ingress a/x"],
      ["add", "udp", "32594", "Service b/dns"],
    ],
  );
});

test("an update step becomes a table of the rule changes and of the objects newly skipped", () => {
  const digest: PreviewDigest = {
    steps: [
      { op: "same", urn: "urn:pulumi:dev::shop::pulumi:pulumi:Stack::shop-dev" },
      {
        op: "update",
        urn: URN,
        oldState: { type: TYPE, inputs: { desiredRules: { [A]: "Ingress a/x", [B]: "Ingress a/y" } } },
        newState: {
          type: TYPE,
          inputs: {
            desiredRules: { [B]: "Ingress a/y", [C]: "Service b/dns" },
            skippedObjects: { "Ingress a/x": "management off: namespace override a=false" },
          },
        },
      },
    ],
  };
  assert.equal(
    summarizePreview(digest),
    [
      "## Backend security group rules",
      "",
      "### `backend-rules` (update)",
      "",
      "1 to add, 1 to remove, 2 rules in total after this change.",
      "",
      "| | security group | protocol | ports | source | needed by |",
      "|---|---|---|---|---|---|",
      "| ➖ remove | sg-0aaaaaaaaaaaaaaaa | tcp | 31828 | sg-0bbbbbbbbbbbbbbbb | Ingress a/x |",
      "| ➕ add | sg-0aaaaaaaaaaaaaaaa | udp | 32594 | sg-0bbbbbbbbbbbbbbbb | Service b/dns |",
      "",
      "| | object | reason |",
      "|---|---|---|",
      "| now skipped | Ingress a/x | management off: namespace override a=false |",
      "",
    ].join("\n"),
  );
});

test("rules not known yet (the cluster is created in the same update) are said so, not shown as removals", () => {
  const digest: PreviewDigest = {
    steps: [
      {
        op: "create",
        urn: URN,
        newState: { type: TYPE, inputs: { desiredRules: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } },
      },
    ],
  };
  assert.match(summarizePreview(digest), /computed when the cluster exists/);
  assert.doesNotMatch(summarizePreview(digest), /remove/);
});

test("a delete step lists every rule as removed; a preview without the resource says so", () => {
  const deleted = summarizePreview({
    steps: [
      { op: "delete", urn: URN, oldState: { type: TYPE, inputs: { desiredRules: { [A]: "Ingress a/x" } } } },
    ],
  });
  assert.match(deleted, /0 to add, 1 to remove, 0 rules in total/);
  assert.equal(
    summarizePreview({ steps: [] }),
    "## Backend security group rules\n\nNo BackendSecurityGroupRules resource in this preview.\n",
  );
});
