// A small EKS-like world in moto for the EC2 adapter's integration tests: a VPC, the LBC backend SG, node SGs,
// three node instances in two node groups, an extra ENI for pod IPs, and one foreign and one owned rule.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeSecurityGroupRulesCommand,
  RunInstancesCommand,
  type Tag,
} from "@aws-sdk/client-ec2";
import { createEc2Client, type Ec2Client } from "../../provider/aws/client";
import { OWNER_TAG_KEY } from "../../provider/domain/model";
import { type Moto, startMoto } from "../sandbox/moto";

export const CLUSTER = "demo";
export const OWNER = "proj/stack/backend-sg";
export const DESCRIPTION = `lbc-backend-sg owner=${OWNER}`;

export interface MotoEc2 {
  moto: Moto;
  client: Ec2Client;
  stop(): Promise<void>;
}

export async function startMotoEc2(): Promise<MotoEc2> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "lbc-aws-test-"));
  const moto = await startMoto({ logDir });
  const client = await createEc2Client({
    region: "us-east-1",
    endpoint: moto.url,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    // moto never throttles; a low bound keeps a broken test from retrying for long.
    maxAttempts: 2,
  });
  return {
    moto,
    client,
    async stop() {
      client.destroy();
      await moto.stop();
    },
  };
}

export interface World {
  vpcId: string;
  subnetId: string;
  backendSgId: string;
  /** node group 1: two SGs on each node, only this one tagged kubernetes.io/cluster/demo */
  nodeSgA: string;
  nodeSgExtra: string;
  /** node group 2: a single, untagged SG */
  nodeSgC: string;
  /** i-… of nodes 1 and 2 (group 1) and node 3 (group 2) */
  instances: [string, string, string];
  /** each node's primary ENI and primary IP, same order as instances */
  primaryEnis: [string, string, string];
  primaryIps: [string, string, string];
  /** an ENI outside the nodes (as for pod IPs), in nodeSgC, with one secondary IP */
  podEniId: string;
  podEniPrimaryIp: string;
  podEniSecondaryIp: string;
  /** tcp 30000 on nodeSgC from the backend SG, without our tag (e.g. the LBC's) */
  foreignRuleId: string;
  /** tcp 30080 on nodeSgA from the backend SG, tagged as ours */
  ownedRuleId: string;
}

export const tag = (Key: string, Value: string): Tag => ({ Key, Value });

export async function createSg(client: Ec2Client, vpcId: string, name: string, tags: Tag[]): Promise<string> {
  const out = await client.sdk.send(
    new CreateSecurityGroupCommand({
      GroupName: name,
      Description: name,
      VpcId: vpcId,
      ...(tags.length > 0 ? { TagSpecifications: [{ ResourceType: "security-group", Tags: tags }] } : {}),
    }),
  );
  return out.GroupId!;
}

/** Adds one tcp rule from `source` and returns its sgr- id (read back: moto's response is partial). */
export async function addRule(
  client: Ec2Client,
  groupId: string,
  source: string,
  port: number,
  tags: Tag[],
  description = "someone else",
): Promise<string> {
  await client.sdk.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          UserIdGroupPairs: [{ GroupId: source, Description: description }],
        },
      ],
      ...(tags.length > 0
        ? { TagSpecifications: [{ ResourceType: "security-group-rule", Tags: tags }] }
        : {}),
    }),
  );
  const rules = await client.sdk.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  const rule = (rules.SecurityGroupRules ?? []).find(
    (r) => r.IsEgress === false && r.FromPort === port && r.ReferencedGroupInfo?.GroupId === source,
  );
  return rule!.SecurityGroupRuleId!;
}

let imageId: string | undefined;

export async function seedWorld(client: Ec2Client): Promise<World> {
  const send = client.sdk.send.bind(client.sdk);
  const vpcId = (await send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }))).Vpc!.VpcId!;
  const subnetId = (await send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.0.1.0/24" }))).Subnet!
    .SubnetId!;
  const backendSgId = await createSg(client, vpcId, "backend", [
    tag("elbv2.k8s.aws/cluster", CLUSTER),
    tag("elbv2.k8s.aws/resource", "backend-sg"),
  ]);
  const nodeSgA = await createSg(client, vpcId, "nodes-a", [
    tag(`kubernetes.io/cluster/${CLUSTER}`, "owned"),
  ]);
  const nodeSgExtra = await createSg(client, vpcId, "nodes-a-extra", [tag("team", "platform")]);
  const nodeSgC = await createSg(client, vpcId, "nodes-c", []);

  // moto's AMI list is large and slow to serve, and the same after every reset: ask once per process.
  imageId ??= (await send(new DescribeImagesCommand({ Owners: ["amazon"], MaxResults: 5 }))).Images?.[0]
    ?.ImageId;
  if (!imageId) throw new Error("moto serves no AMI");
  const run = async (count: number, groups: string[]) => {
    const out = await send(
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: count,
        MaxCount: count,
        InstanceType: "m5.large",
        SubnetId: subnetId,
        SecurityGroupIds: groups,
        // EKS tags its nodes so; the reader refuses instances of another cluster
        TagSpecifications: [
          { ResourceType: "instance", Tags: [{ Key: `kubernetes.io/cluster/${CLUSTER}`, Value: "owned" }] },
        ],
      }),
    );
    return (out.Instances ?? []).map((i) => ({
      id: i.InstanceId!,
      eni: i.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0)?.NetworkInterfaceId ?? "",
      ip: i.PrivateIpAddress!,
    }));
  };
  const group1 = await run(2, [nodeSgA, nodeSgExtra]);
  const group2 = await run(1, [nodeSgC]);
  const nodes = [...group1, ...group2];
  if (nodes.length !== 3) throw new Error(`expected 3 instances, got ${nodes.length}`);
  const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];

  const eni = await send(
    new CreateNetworkInterfaceCommand({
      SubnetId: subnetId,
      Groups: [nodeSgC],
      PrivateIpAddresses: [
        { PrivateIpAddress: "10.0.1.200", Primary: true },
        { PrivateIpAddress: "10.0.1.201", Primary: false },
      ],
    }),
  );
  const foreignRuleId = await addRule(client, nodeSgC, backendSgId, 30000, []);
  const ownedRuleId = await addRule(
    client,
    nodeSgA,
    backendSgId,
    30080,
    [tag(OWNER_TAG_KEY, OWNER)],
    DESCRIPTION,
  );
  return {
    vpcId,
    subnetId,
    backendSgId,
    nodeSgA,
    nodeSgExtra,
    nodeSgC,
    instances: [n1.id, n2.id, n3.id],
    primaryEnis: [n1.eni, n2.eni, n3.eni],
    primaryIps: [n1.ip, n2.ip, n3.ip],
    podEniId: eni.NetworkInterface!.NetworkInterfaceId!,
    podEniPrimaryIp: "10.0.1.200",
    podEniSecondaryIp: "10.0.1.201",
    foreignRuleId,
    ownedRuleId,
  };
}
