// readEc2Snapshot against a scripted EC2: chunking and pagination at sizes moto never pages at, and the
// reader's refusals. Not proven here: that EC2 pages exactly like this (the API reference says it may).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import { Ec2ReadError, readEc2Snapshot } from "../../provider/aws/read";

// the node instances of cluster "demo" (the reader refuses instances of another cluster)
const CLUSTER_TAGS = [{ Key: "kubernetes.io/cluster/demo", Value: "owned" }];

import { ec2Error, fakeEc2, meta } from "./fake-ec2";

const BACKEND = "sg-0backend";
const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")}`);

function groupsOf(input: unknown): string[] {
  const filters = (input as { Filters?: Ec2Sdk.Filter[] }).Filters ?? [];
  return filters.find((f) => f.Name === "group-id")?.Values ?? [];
}

describe("readEc2Snapshot (scripted EC2)", () => {
  it("chunks SG ids by 200 per filter and follows NextToken on rules", async () => {
    const targets = ids("sg", 250);
    const { client, log } = fakeEc2((action, input) => {
      if (action === "DescribeSecurityGroups")
        return {
          ...meta,
          SecurityGroups: groupsOf(input).map((GroupId) => ({ GroupId, VpcId: "vpc-1", Tags: [] })),
        };
      if (action === "DescribeSecurityGroupRules") {
        const page = input as Ec2Sdk.DescribeSecurityGroupRulesCommandInput;
        const first = groupsOf(input)[0] ?? "";
        // The first chunk answers in two pages, one rule each.
        if (first === "sg-00000" && page.NextToken === undefined)
          return { ...meta, NextToken: "t1", SecurityGroupRules: [rule("sgr-a", "sg-00000", 1)] };
        if (first === "sg-00000") return { ...meta, SecurityGroupRules: [rule("sgr-b", "sg-00001", 2)] };
        return { ...meta, SecurityGroupRules: [rule("sgr-c", "sg-00249", 3)] };
      }
      throw new Error(`unexpected ${action}`);
    });
    const { snapshot, calls } = await readEc2Snapshot(client, {
      needs: { instanceIds: [], podIps: [], branchEniIds: [] },
      clusterName: "demo",
      ownerId: "me",
      backendSecurityGroupId: BACKEND,
      targetSecurityGroupIds: targets,
    });
    assert.deepEqual(calls, { DescribeSecurityGroups: 2, DescribeSecurityGroupRules: 3 });
    assert.deepEqual(
      log.filter((c) => c.action === "DescribeSecurityGroups").map((c) => groupsOf(c.input).length),
      [200, 51],
    );
    assert.equal(Object.keys(snapshot.rules).length, 250);
    assert.deepEqual(
      snapshot.rules["sg-00000"]?.map((r) => r.ruleId),
      ["sgr-a"],
    );
    assert.deepEqual(
      snapshot.rules["sg-00001"]?.map((r) => r.ruleId),
      ["sgr-b"],
    );
    assert.deepEqual(
      snapshot.rules["sg-00249"]?.map((r) => r.ruleId),
      ["sgr-c"],
    );
    assert.deepEqual(snapshot.rules["sg-00100"], []);
  });

  it("batches DescribeInstances by 1000 ids, without MaxResults", async () => {
    const { client, log } = fakeEc2((action) => {
      if (action === "DescribeInstances") return { ...meta, Reservations: [] };
      if (action === "DescribeSecurityGroups") return { ...meta, SecurityGroups: [{ GroupId: BACKEND }] };
      return { ...meta, SecurityGroupRules: [] };
    });
    const { calls } = await readEc2Snapshot(client, {
      needs: { instanceIds: ids("i", 1001), podIps: [], branchEniIds: [] },
      clusterName: "demo",
      ownerId: "me",
      backendSecurityGroupId: BACKEND,
    });
    assert.equal(calls.DescribeInstances, 2);
    const first = log[0]?.input as Ec2Sdk.DescribeInstancesCommandInput;
    assert.equal(first.InstanceIds?.length, 1000);
    assert.equal(first.MaxResults, undefined);
  });

  it("instances in two VPCs with no vpcId: an error instead of guessing where the backend SG is", async () => {
    const { client } = fakeEc2((action) => {
      if (action === "DescribeInstances")
        return {
          ...meta,
          Reservations: [
            {
              Instances: [
                { InstanceId: "i-1", VpcId: "vpc-a", Tags: CLUSTER_TAGS },
                { InstanceId: "i-2", VpcId: "vpc-b", Tags: CLUSTER_TAGS },
              ],
            },
          ],
        };
      return { ...meta, SecurityGroups: [] };
    });
    await assert.rejects(
      readEc2Snapshot(client, {
        needs: { instanceIds: ["i-1", "i-2"], podIps: [], branchEniIds: [] },
        clusterName: "demo",
        ownerId: "me",
      }),
      {
        name: "Ec2ReadError",
        message:
          "the cluster's instances and network interfaces are in several VPCs (vpc-a, vpc-b); pass vpcId or backendSecurityGroupId",
      },
    );
  });

  it("a pod IP from a node ENI's delegated prefix is held by that ENI, with no lookup by IP", async () => {
    const { client, log } = fakeEc2((action) => {
      if (action === "DescribeInstances")
        return {
          ...meta,
          Reservations: [
            {
              Instances: [
                {
                  InstanceId: "i-1",
                  VpcId: "vpc-1",
                  Tags: CLUSTER_TAGS,
                  NetworkInterfaces: [
                    {
                      NetworkInterfaceId: "eni-1",
                      Attachment: { DeviceIndex: 0, NetworkCardIndex: 0 },
                      Groups: [{ GroupId: "sg-1" }],
                      PrivateIpAddresses: [{ PrivateIpAddress: "10.0.1.5" }],
                      Ipv4Prefixes: [{ Ipv4Prefix: "10.0.1.16/28" }],
                    },
                  ],
                },
              ],
            },
          ],
        };
      if (action === "DescribeSecurityGroups")
        return { ...meta, SecurityGroups: [{ GroupId: BACKEND }, { GroupId: "sg-1" }] };
      if (action === "DescribeNetworkInterfaces") return { ...meta, NetworkInterfaces: [] };
      return { ...meta, SecurityGroupRules: [] };
    });
    const { snapshot, calls } = await readEc2Snapshot(client, {
      needs: { instanceIds: ["i-1"], podIps: ["10.0.1.20", "10.0.2.7"], branchEniIds: [] },
      clusterName: "demo",
      ownerId: "me",
      backendSecurityGroupId: BACKEND,
    });
    assert.deepEqual(snapshot.networkInterfaces["eni-1"]?.privateIpAddresses, ["10.0.1.5", "10.0.1.20"]);
    // Only the IP outside every prefix is looked up.
    const lookup = log.find((c) => c.action === "DescribeNetworkInterfaces")
      ?.input as Ec2Sdk.DescribeNetworkInterfacesCommandInput;
    assert.deepEqual(lookup.Filters, [{ Name: "addresses.private-ip-address", Values: ["10.0.2.7"] }]);
    assert.equal(calls.DescribeNetworkInterfaces, 1);
  });

  it("a throttled read that ran out of retries aborts with the operation named", async () => {
    const { client } = fakeEc2((action) => {
      if (action === "DescribeSecurityGroupRules")
        throw ec2Error("RequestLimitExceeded", "Request limit exceeded.");
      return { ...meta, SecurityGroups: [{ GroupId: BACKEND }, { GroupId: "sg-1" }] };
    });
    const err = await readEc2Snapshot(client, {
      needs: { instanceIds: [], podIps: [], branchEniIds: [] },
      clusterName: "demo",
      ownerId: "me",
      backendSecurityGroupId: BACKEND,
      targetSecurityGroupIds: ["sg-1"],
    }).then(
      () => assert.fail("expected an Ec2ReadError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Ec2ReadError);
    assert.equal(err.code, "RequestLimitExceeded");
    assert.equal(
      err.message,
      "reading EC2: DescribeSecurityGroupRules of sg-1: RequestLimitExceeded: Request limit exceeded.",
    );
  });
});

function rule(id: string, groupId: string, port: number): Ec2Sdk.SecurityGroupRule {
  return {
    SecurityGroupRuleId: id,
    GroupId: groupId,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: port,
    ToPort: port,
    ReferencedGroupInfo: { GroupId: BACKEND },
  };
}
