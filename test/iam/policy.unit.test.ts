// iam-policy.json allows exactly the EC2 actions the provider's code can call, and mutations never on "*".
// Not proven here: that AWS accepts the Resource ARNs and Condition keys (see the README's least-privilege
// section for the documentation each rests on), nor that the code calls every action (the integration test runs
// the read and apply paths under the policy).
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { actionsOf, ec2OperationsInCode, policyActions, readPolicy } from "./policy";

const READS = [
  "DescribeInstances",
  "DescribeNetworkInterfaces",
  "DescribeSecurityGroupRules",
  "DescribeSecurityGroups",
];
const WRITES = ["AuthorizeSecurityGroupIngress", "CreateTags", "RevokeSecurityGroupIngress"];

test("the policy's actions are exactly the keys of Ec2Operations in provider/aws/client.ts", () => {
  assert.deepEqual(ec2OperationsInCode(), [...READS, ...WRITES].sort());
  assert.deepEqual(policyActions(readPolicy()), ec2OperationsInCode());
});

test("only the Describe calls are allowed on every resource; every write is limited by resource and condition", () => {
  for (const statement of readPolicy().Statement) {
    assert.equal(statement.Effect, "Allow", statement.Sid);
    const actions = actionsOf(statement).map((a) => a.replace(/^ec2:/, ""));
    if (statement.Resource === "*") {
      assert.deepEqual(actions.sort(), READS, `${statement.Sid}: only reads on "*"`);
      assert.equal(statement.Condition, undefined);
    } else {
      assert.ok(
        actions.every((a) => WRITES.includes(a)),
        `${statement.Sid}: ${actions.join(", ")}`,
      );
      assert.ok(statement.Condition !== undefined, `${statement.Sid} has no Condition`);
    }
  }
});

test("writes are scoped to security groups tagged for the cluster and to rules carrying our owner tag", () => {
  const bySid = new Map(readPolicy().Statement.map((s) => [s.Sid, s]));
  assert.deepEqual(bySid.get("ChangeRulesOnClusterSecurityGroups")?.Condition, {
    Null: { "aws:ResourceTag/kubernetes.io/cluster/CLUSTER_NAME": "false" },
  });
  assert.deepEqual(bySid.get("RevokeOnlyRulesTaggedAsOurs")?.Condition, {
    Null: { "aws:ResourceTag/lbc-backend-sg/owner": "false" },
  });
  assert.deepEqual(bySid.get("TagRulesOnCreate")?.Condition, {
    StringEquals: { "ec2:CreateAction": "AuthorizeSecurityGroupIngress" },
    "ForAllValues:StringEquals": { "aws:TagKeys": ["lbc-backend-sg/owner"] },
  });
  assert.deepEqual([...bySid.keys()].sort(), [
    "AdoptExistingRules",
    "ChangeRulesOnClusterSecurityGroups",
    "CreateRulesTaggedAsOurs",
    "ReadClusterNetworking",
    "RevokeOnlyRulesTaggedAsOurs",
    "TagRulesOnCreate",
  ]);
});
