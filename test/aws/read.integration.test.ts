// readEc2Snapshot against the real moto server, driven by the real AWS SDK.
// Not proven here: EC2's real pagination sizes and eventual consistency (moto answers in one page, at once), and
// throttling (covered by the throttling proxy's tests).

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { CreateTagsCommand, DeleteSecurityGroupCommand } from "@aws-sdk/client-ec2";
import { Ec2ReadError, readEc2Snapshot } from "../../provider/aws/read";
import type { Ec2ReadRequest } from "../../provider/aws/types";
import { OWNER_TAG_KEY } from "../../provider/domain/model";
import {
  CLUSTER,
  createSg,
  type MotoEc2,
  OWNER,
  seedWorld,
  startMotoEc2,
  tag,
  type World,
} from "./moto-fixture";

let env: MotoEc2;
let world: World;

before(async () => {
  env = await startMotoEc2();
});
after(async () => {
  await env?.stop();
});
beforeEach(async () => {
  await env.moto.reset();
  world = await seedWorld(env.client);
});

function request(overrides: Partial<Ec2ReadRequest> = {}): Ec2ReadRequest {
  return {
    needs: { instanceIds: [...world.instances], podIps: [], branchEniIds: [] },
    clusterName: CLUSTER,
    ownerId: OWNER,
    ...overrides,
  };
}

async function readError(req: Ec2ReadRequest): Promise<Ec2ReadError> {
  try {
    await readEc2Snapshot(env.client, req);
  } catch (err) {
    assert.ok(err instanceof Ec2ReadError, `expected an Ec2ReadError, got ${String(err)}`);
    return err;
  }
  assert.fail("the read succeeded");
}

describe("readEc2Snapshot (moto)", () => {
  it("finds the backend SG by the LBC's tags and reads nodes, their SGs and the rules of possible destinations", async () => {
    const { snapshot, calls } = await readEc2Snapshot(env.client, request());
    const w = world;
    assert.equal(snapshot.backendSecurityGroupId, w.backendSgId);
    assert.deepEqual(snapshot.instancePrimaryEni, {
      [w.instances[0]]: w.primaryEnis[0],
      [w.instances[1]]: w.primaryEnis[1],
      [w.instances[2]]: w.primaryEnis[2],
    });
    assert.deepEqual(snapshot.networkInterfaces, {
      [w.primaryEnis[0]]: {
        id: w.primaryEnis[0],
        securityGroupIds: [w.nodeSgA, w.nodeSgExtra].sort(),
        privateIpAddresses: [w.primaryIps[0]],
        instanceId: w.instances[0],
      },
      [w.primaryEnis[1]]: {
        id: w.primaryEnis[1],
        securityGroupIds: [w.nodeSgA, w.nodeSgExtra].sort(),
        privateIpAddresses: [w.primaryIps[1]],
        instanceId: w.instances[1],
      },
      [w.primaryEnis[2]]: {
        id: w.primaryEnis[2],
        securityGroupIds: [w.nodeSgC],
        privateIpAddresses: [w.primaryIps[2]],
        instanceId: w.instances[2],
      },
    });
    assert.deepEqual(snapshot.securityGroups, {
      [w.backendSgId]: {
        id: w.backendSgId,
        vpcId: w.vpcId,
        tags: { "elbv2.k8s.aws/cluster": CLUSTER, "elbv2.k8s.aws/resource": "backend-sg" },
      },
      [w.nodeSgA]: { id: w.nodeSgA, vpcId: w.vpcId, tags: { [`kubernetes.io/cluster/${CLUSTER}`]: "owned" } },
      [w.nodeSgExtra]: { id: w.nodeSgExtra, vpcId: w.vpcId, tags: { team: "platform" } },
      [w.nodeSgC]: { id: w.nodeSgC, vpcId: w.vpcId, tags: {} },
    });
    // nodeSgExtra is the untagged second SG of its ENIs, so it can never be a destination: its rules are not read.
    // Egress rules (moto's default allow-all) are dropped. moto quirk: DescribeSecurityGroupRules omits the
    // Description of rules whose source is a security group, so `description` is absent here.
    assert.deepEqual(snapshot.rules, {
      [w.nodeSgA]: [
        {
          ruleId: w.ownedRuleId,
          groupId: w.nodeSgA,
          protocol: "tcp",
          fromPort: 30080,
          toPort: 30080,
          sourceSecurityGroupId: w.backendSgId,
          tags: { [OWNER_TAG_KEY]: OWNER },
        },
      ],
      [w.nodeSgC]: [
        {
          ruleId: w.foreignRuleId,
          groupId: w.nodeSgC,
          protocol: "tcp",
          fromPort: 30000,
          toPort: 30000,
          sourceSecurityGroupId: w.backendSgId,
          tags: {},
        },
      ],
    });
    assert.equal(snapshot.ruleQuota, 60);
    // 3 instances in one call; SGs by id + backend SG by tags; rules of both destinations in one filtered call.
    assert.deepEqual(calls, {
      DescribeInstances: 1,
      DescribeSecurityGroups: 2,
      DescribeSecurityGroupRules: 1,
    });
  });

  it("verifies a given backend SG in the same call as the other SGs", async () => {
    const { snapshot, calls } = await readEc2Snapshot(
      env.client,
      request({ backendSecurityGroupId: world.backendSgId, ruleQuota: 200 }),
    );
    assert.equal(snapshot.backendSecurityGroupId, world.backendSgId);
    assert.equal(snapshot.ruleQuota, 200);
    assert.deepEqual(calls, {
      DescribeInstances: 1,
      DescribeSecurityGroups: 1,
      DescribeSecurityGroupRules: 1,
    });
  });

  it("a given backend SG that does not exist is an error naming it", async () => {
    const err = await readError(request({ backendSecurityGroupId: "sg-0123456789abcdef0" }));
    assert.equal(
      err.message,
      "backend security group sg-0123456789abcdef0 (backendSecurityGroupId) does not exist in this account and " +
        `region; pass an existing security group id, or omit it to find the one tagged elbv2.k8s.aws/cluster=${CLUSTER}`,
    );
  });

  it("no tagged backend SG is an error that says what to tag or pass", async () => {
    // no node instances to read (ip targets only, say): the VPC comes from vpcId
    const none = { instanceIds: [], podIps: [], branchEniIds: [] };
    const err = await readError(request({ clusterName: "other", vpcId: world.vpcId, needs: none }));
    assert.equal(
      err.message,
      `no backend security group found for cluster other in ${world.vpcId}: tag one with ` +
        "elbv2.k8s.aws/cluster=other and elbv2.k8s.aws/resource=backend-sg, or pass backendSecurityGroupId",
    );
  });

  it("node instances of another cluster are refused before the backend SG is looked up by the cluster's name", async () => {
    const err = await readError(request({ clusterName: "other" }));
    assert.equal(err.property, "cluster");
    const found = [...world.instances].sort().map((id) => `${id} (kubernetes.io/cluster/${CLUSTER}=owned)`);
    assert.equal(
      err.message,
      `cluster "other": node instances is "${found.join("; ")}"; expected at least one of the 3 node instances ` +
        "checked to carry tag kubernetes.io/cluster/other or eks:cluster-name=other (the kubeconfig seems to point " +
        "at another cluster; planning against it would revoke this cluster's rules)",
    );
  });

  it("two tagged backend SGs are an error listing both", async () => {
    const second = await createSg(env.client, world.vpcId, "backend-2", [
      tag("elbv2.k8s.aws/cluster", CLUSTER),
      tag("elbv2.k8s.aws/resource", "backend-sg"),
    ]);
    const err = await readError(request());
    assert.equal(
      err.message,
      `2 security groups are tagged as the backend security group of cluster ${CLUSTER} in ${world.vpcId} ` +
        `(${[world.backendSgId, second].sort().join(", ")}): keep the tags elbv2.k8s.aws/cluster=${CLUSTER} and ` +
        "elbv2.k8s.aws/resource=backend-sg on one of them, or pass backendSecurityGroupId",
    );
  });

  it("looks the backend SG up only in the given VPC", async () => {
    const err = await readError(request({ vpcId: "vpc-00000000000000000" }));
    assert.match(err.message, /^no backend security group found for cluster demo in vpc-00000000000000000: /);
  });

  it("maps a pod IP that no node holds to the ENI holding it, in one call", async () => {
    const { snapshot, calls } = await readEc2Snapshot(
      env.client,
      request({
        needs: { instanceIds: [], podIps: [world.podEniPrimaryIp, world.primaryIps[0]], branchEniIds: [] },
      }),
    );
    assert.deepEqual(snapshot.networkInterfaces, {
      [world.podEniId]: {
        id: world.podEniId,
        securityGroupIds: [world.nodeSgC],
        privateIpAddresses: [world.podEniPrimaryIp, world.podEniSecondaryIp],
      },
      // A node's IP without its instance: found through DescribeNetworkInterfaces too, attached to the node.
      [world.primaryEnis[0]]: {
        id: world.primaryEnis[0],
        securityGroupIds: [world.nodeSgA, world.nodeSgExtra].sort(),
        privateIpAddresses: [world.primaryIps[0]],
        instanceId: world.instances[0],
      },
    });
    assert.deepEqual(Object.keys(snapshot.rules).sort(), [world.nodeSgA, world.nodeSgC].sort());
    // The VPC for the backend SG search comes from the ENIs when there are no instances.
    assert.equal(snapshot.backendSecurityGroupId, world.backendSgId);
    assert.deepEqual(calls, {
      DescribeNetworkInterfaces: 1,
      DescribeSecurityGroups: 2,
      DescribeSecurityGroupRules: 1,
    });
  });

  it("does not look up pod IPs that a node ENI already holds", async () => {
    const { calls } = await readEc2Snapshot(
      env.client,
      request({
        needs: { instanceIds: [...world.instances], podIps: [world.primaryIps[2]], branchEniIds: [] },
      }),
    );
    assert.equal(calls.DescribeNetworkInterfaces, undefined);
  });

  it("moto quirk: the addresses.private-ip-address filter matches only an ENI's primary IP", async () => {
    // Real EC2 matches secondary IPs too (that is where the VPC CNI puts pod IPs). If this starts failing, moto
    // fixed it and the pod-IP test above can use a secondary IP.
    const { snapshot } = await readEc2Snapshot(
      env.client,
      request({ needs: { instanceIds: [], podIps: [world.podEniSecondaryIp], branchEniIds: [] } }),
    );
    assert.deepEqual(snapshot.networkInterfaces, {});
  });

  it("reads branch ENIs by id", async () => {
    const { snapshot, calls } = await readEc2Snapshot(
      env.client,
      request({ needs: { instanceIds: [], podIps: [], branchEniIds: [world.podEniId] } }),
    );
    assert.deepEqual(Object.keys(snapshot.networkInterfaces), [world.podEniId]);
    assert.equal(calls.DescribeNetworkInterfaces, 1);
  });

  it("an unknown instance aborts the read, naming the operation and the ids", async () => {
    const err = await readError(
      request({
        needs: { instanceIds: [world.instances[0], "i-0000000000000dead"], podIps: [], branchEniIds: [] },
      }),
    );
    assert.equal(err.code, "InvalidInstanceID.NotFound");
    // Ids are sorted (stable requests); the text after the code is moto's message.
    assert.equal(
      err.message,
      `reading EC2: DescribeInstances for i-0000000000000dead, ${world.instances[0]}: InvalidInstanceID.NotFound: ` +
        "The instance ID 'i-0000000000000dead' does not exist; the cluster's nodes are not in this region and " +
        "account: check region (or aws:region) and the AWS credentials",
    );
  });

  it("an unknown branch ENI aborts the read", async () => {
    const err = await readError(
      request({ needs: { instanceIds: [], podIps: [], branchEniIds: ["eni-00000000000000000"] } }),
    );
    assert.equal(err.code, "InvalidNetworkInterfaceID.NotFound");
    assert.match(err.message, /^reading EC2: DescribeNetworkInterfaces for eni-00000000000000000: /);
  });

  it("explicit target SGs replace ENI discovery as destinations, and must exist", async () => {
    const { snapshot } = await readEc2Snapshot(
      env.client,
      request({ targetSecurityGroupIds: [world.nodeSgExtra] }),
    );
    assert.deepEqual(snapshot.rules, { [world.nodeSgExtra]: [] });

    const err = await readError(
      request({ targetSecurityGroupIds: [world.nodeSgExtra, "sg-00000000000000bad"] }),
    );
    assert.equal(
      err.message,
      "target security groups sg-00000000000000bad (targetSecurityGroupIds) do not exist in this account and region",
    );
  });

  it("reads the rules of owned SGs beside the destinations, skipping owned SGs deleted since", async () => {
    const old = await createSg(env.client, world.vpcId, "old-nodes", []);
    const gone = await createSg(env.client, world.vpcId, "gone-nodes", []);
    await env.client.sdk.send(new DeleteSecurityGroupCommand({ GroupId: gone }));
    const { snapshot, calls } = await readEc2Snapshot(
      env.client,
      request({ ownedSecurityGroupIds: [old, gone] }),
    );
    assert.deepEqual(Object.keys(snapshot.rules).sort(), [world.nodeSgA, world.nodeSgC, old].sort());
    assert.deepEqual(snapshot.rules[old], []);
    assert.equal(snapshot.securityGroups[gone], undefined);
    assert.deepEqual(calls, {
      DescribeInstances: 1,
      DescribeSecurityGroups: 2,
      DescribeSecurityGroupRules: 1,
    });
  });

  it("an ENI with two cluster-tagged SGs has both read as candidates (the planner reports the conflict)", async () => {
    await env.client.sdk.send(
      new CreateTagsCommand({
        Resources: [world.nodeSgExtra],
        Tags: [tag(`kubernetes.io/cluster/${CLUSTER}`, "owned")],
      }),
    );
    const { snapshot } = await readEc2Snapshot(env.client, request());
    assert.deepEqual(
      Object.keys(snapshot.rules).sort(),
      [world.nodeSgA, world.nodeSgExtra, world.nodeSgC].sort(),
    );
  });
});
