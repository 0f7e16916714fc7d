// clusterIdentityProblem: the pure check that the node instances belong to the named cluster.
// Not proven here: that the engine feeds it the tags of every eligible node (test/integration covers that).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clusterIdentityProblem, instanceBelongsTo } from "../../provider/domain/cluster-identity";

describe("clusterIdentityProblem", () => {
  it("passes when any instance carries kubernetes.io/cluster/<name>, whatever its value", () => {
    assert.equal(
      clusterIdentityProblem("prod", {
        "i-1": { "kubernetes.io/cluster/other": "owned" },
        "i-2": { "kubernetes.io/cluster/prod": "shared" },
      }),
      undefined,
    );
  });

  it("passes on eks:cluster-name=<name> alone", () => {
    assert.equal(clusterIdentityProblem("prod", { "i-1": { "eks:cluster-name": "prod" } }), undefined);
  });

  it("passes when there are no node instances to check", () => {
    assert.equal(clusterIdentityProblem("prod", {}), undefined);
  });

  it("names the cluster, every instance checked and the cluster tags found when none matches", () => {
    const p = clusterIdentityProblem("b", {
      "i-2": { Name: "x" },
      "i-1": { "kubernetes.io/cluster/a": "owned", "eks:cluster-name": "a", Name: "n" },
    });
    assert.deepEqual(p, {
      object: 'cluster "b"',
      field: "node instances",
      value: "i-1 (eks:cluster-name=a, kubernetes.io/cluster/a=owned); i-2 (no cluster tags)",
      expected:
        "at least one of the 2 node instances checked to carry tag kubernetes.io/cluster/b or eks:cluster-name=b",
      message:
        'cluster "b": node instances is "i-1 (eks:cluster-name=a, kubernetes.io/cluster/a=owned); i-2 (no cluster tags)"; ' +
        "expected at least one of the 2 node instances checked to carry tag kubernetes.io/cluster/b or eks:cluster-name=b " +
        "(the kubeconfig seems to point at another cluster; planning against it would revoke this cluster's rules)",
    });
  });

  it("shows five instances and counts the rest", () => {
    const tags: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= 7; i++) tags[`i-${i}`] = {};
    const p = clusterIdentityProblem("b", tags);
    assert.equal(
      p?.value,
      "i-1 (no cluster tags); i-2 (no cluster tags); i-3 (no cluster tags); i-4 (no cluster tags); i-5 (no cluster tags) and 2 more",
    );
  });

  it("does not take eks:cluster-name with another value, or a prefix of the name, as a match", () => {
    assert.equal(instanceBelongsTo({ "eks:cluster-name": "prod-2" }, "prod"), false);
    assert.equal(instanceBelongsTo({ "kubernetes.io/cluster/prod-2": "owned" }, "prod"), false);
    assert.equal(instanceBelongsTo({ "kubernetes.io/cluster/prod": "" }, "prod"), true);
  });
});
