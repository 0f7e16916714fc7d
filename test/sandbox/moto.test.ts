// Smoke test: the EC2 API in the sandbox is moto's real server, driven by the real AWS SDK v3.
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { getSandbox, type Sandbox } from "./sandbox";

let sandbox: Sandbox;
let ec2: EC2Client;
before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});
after(async () => {
  ec2.destroy();
  await sandbox.stop();
});

test("a rule that references another SG, tagged at creation, is found by a tag filter", async () => {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }));
  const vpcId = vpc.Vpc?.VpcId;
  assert.ok(vpcId?.startsWith("vpc-"));
  const backend = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: "backend", Description: "b", VpcId: vpcId }),
  );
  const node = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: "node", Description: "n", VpcId: vpcId }),
  );
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: node.GroupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 30080,
          ToPort: 30080,
          UserIdGroupPairs: [{ GroupId: backend.GroupId, Description: "smoke" }],
        },
      ],
      TagSpecifications: [
        { ResourceType: "security-group-rule", Tags: [{ Key: "smoke/owner", Value: "me" }] },
      ],
    }),
  );
  const found = await ec2.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "tag:smoke/owner", Values: ["me"] }] }),
  );
  const rules = found.SecurityGroupRules ?? [];
  assert.equal(rules.length, 1);
  const [rule] = rules;
  assert.equal(rule?.GroupId, node.GroupId);
  assert.equal(rule?.ReferencedGroupInfo?.GroupId, backend.GroupId);
  assert.equal(rule?.FromPort, 30080);
  assert.equal(rule?.IpProtocol, "tcp");
  assert.match(rule?.SecurityGroupRuleId ?? "", /^sgr-/);
});
