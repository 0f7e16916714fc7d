// Reads the EC2 facts one plan needs into an Ec2Snapshot, with as few calls as filters and pagination allow
// (describes draw from EC2's larger throttling bucket, but each call still counts).
//
// Any failed call aborts the whole read (Invariant 2: nothing is ever revoked from a partial view).

import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import { clusterIdentityProblem } from "../domain/cluster-identity";
import type { Ec2Snapshot, ExistingRule, NetworkInterfaceFacts, SecurityGroupFacts } from "../domain/model";
import { awsErrorCode, CountingEc2, describeAwsError, type Ec2Caller } from "./client";
import {
  chunk,
  ipv4InCidr,
  listIds,
  MAX_FILTER_VALUES,
  MAX_INSTANCE_IDS,
  MAX_PAGE_SIZE,
  tagRecord,
  toExistingRule,
  uniqueSorted,
} from "./rules";
import type { Ec2ReadRequest, Ec2ReadResult } from "./types";

export const DEFAULT_RULE_QUOTA = 60;
export const BACKEND_SG_CLUSTER_TAG = "elbv2.k8s.aws/cluster";
export const BACKEND_SG_RESOURCE_TAG = "elbv2.k8s.aws/resource";
export const BACKEND_SG_RESOURCE_VALUE = "backend-sg";

/**
 * A read that failed: nothing from it may be used to revoke. `code` is the EC2 error code when there is one;
 * `property` the input the failure is about, when it is about one (check reports it on that property).
 */
export class Ec2ReadError extends Error {
  override readonly name = "Ec2ReadError";
  readonly code: string | undefined;
  constructor(
    message: string,
    cause?: unknown,
    readonly property?: string,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = cause === undefined ? undefined : awsErrorCode(cause);
  }
}

export async function readEc2Snapshot(client: Ec2Caller, req: Ec2ReadRequest): Promise<Ec2ReadResult> {
  const ec2 = new CountingEc2(client);
  const networkInterfaces: Record<string, NetworkInterfaceFacts> = {};
  const instancePrimaryEni: Record<string, string> = {};
  const instanceTags: Record<string, Record<string, string>> = {};
  const vpcIds = new Set<string>();
  // ENI id -> IPv4 prefixes delegated to it (VPC CNI prefix delegation hands pod IPs out of /28 prefixes; such
  // IPs are not private IP addresses of the ENI, so no filter on addresses finds them).
  const prefixes = new Map<string, string[]>();

  // 1. Node instances: their ENIs come with DescribeInstances, so no ENI call is needed for them. All of an
  // instance's ENIs are kept (the VPC CNI puts pod IPs on secondary ENIs too), which spares lookups by IP.
  for (const instance of await describeInstances(ec2, uniqueSorted(req.needs.instanceIds))) {
    if (instance.VpcId) vpcIds.add(instance.VpcId);
    if (instance.InstanceId) instanceTags[instance.InstanceId] = tagRecord(instance.Tags);
    for (const eni of instance.NetworkInterfaces ?? []) {
      if (!eni.NetworkInterfaceId) continue;
      const facts = eniFacts(eni.NetworkInterfaceId, eni.Groups, eni.PrivateIpAddresses, instance.InstanceId);
      networkInterfaces[facts.id] = facts;
      const delegated = (eni.Ipv4Prefixes ?? []).flatMap((p) => (p.Ipv4Prefix ? [p.Ipv4Prefix] : []));
      if (delegated.length > 0) prefixes.set(facts.id, delegated);
      // The primary ENI is device index 0 on network card 0; it holds the node's primary IP.
      if (
        instance.InstanceId &&
        eni.Attachment?.DeviceIndex === 0 &&
        (eni.Attachment.NetworkCardIndex ?? 0) === 0
      )
        instancePrimaryEni[instance.InstanceId] = facts.id;
    }
  }

  // Before anything is looked up by the cluster's name: node instances that are not the named cluster's mean the
  // kubeconfig points at another cluster (the backend SG lookup would otherwise fail first, misleadingly).
  const wrongCluster = clusterIdentityProblem(req.clusterName, instanceTags);
  if (wrongCluster !== undefined) throw new Ec2ReadError(wrongCluster.message, undefined, "cluster");

  // 2. Pod IPs that no node ENI holds, and branch ENIs (security groups for pods).
  const knownIps = new Set(Object.values(networkInterfaces).flatMap((eni) => eni.privateIpAddresses));
  const podIps: string[] = [];
  for (const ip of uniqueSorted(req.needs.podIps)) {
    if (knownIps.has(ip)) continue;
    const holder = [...prefixes].find(([, cidrs]) => cidrs.some((cidr) => ipv4InCidr(ip, cidr)))?.[0];
    // A pod IP from a node ENI's delegated prefix is held by that ENI: recorded as one of its addresses, which
    // is what the planner asks of the snapshot ("which ENI holds this pod IP").
    if (holder !== undefined) networkInterfaces[holder]?.privateIpAddresses.push(ip);
    else podIps.push(ip);
  }
  const branchEniIds = uniqueSorted(req.needs.branchEniIds).filter((id) => !(id in networkInterfaces));
  const [byIp, byId] = await Promise.all([
    describeEnisByIp(ec2, podIps),
    describeEnisById(ec2, branchEniIds),
  ]);
  for (const eni of [...byIp, ...byId]) {
    if (!eni.NetworkInterfaceId) continue;
    if (eni.VpcId) vpcIds.add(eni.VpcId);
    networkInterfaces[eni.NetworkInterfaceId] = eniFacts(
      eni.NetworkInterfaceId,
      eni.Groups,
      eni.PrivateIpAddresses,
      eni.Attachment?.InstanceId,
    );
  }

  // 3. The backend SG and the facts (tags) of every SG we may need: on the ENIs, the overrides, the owned ones.
  const targetIds = uniqueSorted(req.targetSecurityGroupIds ?? []);
  const ownedIds = uniqueSorted(req.ownedSecurityGroupIds ?? []);
  const eniSgIds = uniqueSorted(Object.values(networkInterfaces).flatMap((eni) => eni.securityGroupIds));
  const givenBackend = req.backendSecurityGroupId;
  const sgIds = uniqueSorted([
    ...eniSgIds,
    ...targetIds,
    ...ownedIds,
    ...(givenBackend ? [givenBackend] : []),
  ]);
  // The given backend SG is verified in the same call as the others: a group-id filter returns what exists
  // instead of failing the whole batch on the first unknown id, so each missing id gets its own message.
  const [groups, foundBackend] = await Promise.all([
    describeSecurityGroups(ec2, sgIds),
    givenBackend === undefined ? findBackendSg(ec2, req, vpcIds) : Promise.resolve(undefined),
  ]);

  const securityGroups: Record<string, SecurityGroupFacts> = {};
  for (const group of [...groups, ...(foundBackend ? [foundBackend] : [])]) {
    if (!group.GroupId) continue;
    securityGroups[group.GroupId] = {
      id: group.GroupId,
      ...(group.VpcId ? { vpcId: group.VpcId } : {}),
      tags: tagRecord(group.Tags),
    };
  }
  if (givenBackend !== undefined && !(givenBackend in securityGroups))
    throw new Ec2ReadError(
      `backend security group ${givenBackend} (backendSecurityGroupId) does not exist in this account and region; ` +
        `pass an existing security group id, or omit it to find the one tagged ${BACKEND_SG_CLUSTER_TAG}=${req.clusterName}`,
      undefined,
      "backendSecurityGroupId",
    );
  const missingTargets = targetIds.filter((id) => !(id in securityGroups));
  if (missingTargets.length > 0)
    throw new Ec2ReadError(
      `target security groups ${listIds(missingTargets)} (targetSecurityGroupIds) do not exist in this account and region`,
      undefined,
      "targetSecurityGroupIds",
    );
  // An ENI naming an SG we cannot see means a partial view of the destinations: refuse rather than guess.
  const missingEniSgs = eniSgIds.filter((id) => !(id in securityGroups));
  if (missingEniSgs.length > 0)
    throw new Ec2ReadError(
      `security groups ${listIds(missingEniSgs)} are attached to the nodes' or pods' network interfaces but could not be described`,
    );
  const backendSecurityGroupId = givenBackend ?? foundBackend?.GroupId;
  if (backendSecurityGroupId === undefined)
    throw new Error("unreachable: backend security group not resolved");

  // 4. Existing ingress rules on every possible destination SG, and on the owned SGs that still exist (a deleted
  // SG has no rules left to revoke).
  const destinations =
    targetIds.length > 0
      ? targetIds
      : candidateDestinations(Object.values(networkInterfaces), securityGroups, req);
  const ruleSgIds = uniqueSorted([...destinations, ...ownedIds.filter((id) => id in securityGroups)]);
  const rules: Record<string, ExistingRule[]> = {};
  for (const id of ruleSgIds) rules[id] = [];
  // The group-id filter returns only rules of these SGs, each pre-set above.
  for (const rule of await describeIngressRules(ec2, ruleSgIds)) rules[rule.groupId]?.push(rule);

  const snapshot: Ec2Snapshot = {
    backendSecurityGroupId,
    instancePrimaryEni,
    networkInterfaces,
    securityGroups,
    rules,
    ruleQuota: req.ruleQuota ?? DEFAULT_RULE_QUOTA,
  };
  return { snapshot, instanceTags, calls: ec2.calls };
}

/**
 * The SGs that can be a destination under the LBC's rule: an ENI's only SG, else those of its SGs that carry the
 * cluster tag key. The planner makes the final choice (and reports ENIs with none or several); this only avoids
 * reading rules of SGs that can never be chosen.
 */
function candidateDestinations(
  enis: readonly NetworkInterfaceFacts[],
  securityGroups: Record<string, SecurityGroupFacts>,
  req: Ec2ReadRequest,
): string[] {
  const clusterTag = `kubernetes.io/cluster/${req.clusterName}`;
  const out = new Set<string>();
  for (const eni of enis) {
    if (eni.securityGroupIds.length === 1) out.add(eni.securityGroupIds[0] as string);
    else
      for (const id of eni.securityGroupIds)
        if (securityGroups[id]?.tags[clusterTag] !== undefined) out.add(id);
  }
  return uniqueSorted(out);
}

function eniFacts(
  id: string,
  groups: readonly Ec2Sdk.GroupIdentifier[] | undefined,
  addresses: ReadonlyArray<{ PrivateIpAddress?: string | undefined }> | undefined,
  instanceId: string | undefined,
): NetworkInterfaceFacts {
  return {
    id,
    securityGroupIds: uniqueSorted((groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : []))),
    privateIpAddresses: uniqueSorted(
      (addresses ?? []).flatMap((a) => (a.PrivateIpAddress ? [a.PrivateIpAddress] : [])),
    ),
    ...(instanceId ? { instanceId } : {}),
  };
}

/** Runs one read; any error becomes an Ec2ReadError naming the operation and the ids. */
async function reading<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Ec2ReadError) throw err;
    throw new Ec2ReadError(`reading EC2: ${what}: ${describeAwsError(err)}`, err);
  }
}

/** Follows NextToken until the last page. */
async function allPages<T>(
  fetchPage: (token: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>,
) {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    out.push(...page.items);
    token = page.next || undefined;
  } while (token !== undefined);
  return out;
}

async function describeInstances(ec2: CountingEc2, ids: string[]): Promise<Ec2Sdk.Instance[]> {
  const out: Ec2Sdk.Instance[] = [];
  for (const batch of chunk(ids, MAX_INSTANCE_IDS)) {
    const instances = await reading(`DescribeInstances for ${listIds(batch)}`, () =>
      allPages(async (token) => {
        // EC2 rejects MaxResults together with InstanceIds; it may still page, so NextToken is followed.
        const page = await ec2.call("DescribeInstances", {
          InstanceIds: batch,
          ...(token ? { NextToken: token } : {}),
        });
        return { items: (page.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: page.NextToken };
      }),
    ).catch((err: unknown) => {
      // The nodes' own instances missing almost always means another region or account than the cluster's.
      if (err instanceof Ec2ReadError && err.code === "InvalidInstanceID.NotFound")
        throw new Ec2ReadError(
          `${err.message}; the cluster's nodes are not in this region and account: check region (or aws:region) and the AWS credentials`,
          err.cause,
          "region",
        );
      throw err;
    });
    out.push(...instances);
  }
  return out;
}

async function describeEnisByIp(ec2: CountingEc2, ips: string[]): Promise<Ec2Sdk.NetworkInterface[]> {
  const out: Ec2Sdk.NetworkInterface[] = [];
  for (const batch of chunk(ips, MAX_FILTER_VALUES)) {
    const enis = await reading(`DescribeNetworkInterfaces holding private IPs ${listIds(batch)}`, () =>
      allPages(async (token) => {
        const page = await ec2.call("DescribeNetworkInterfaces", {
          Filters: [{ Name: "addresses.private-ip-address", Values: batch }],
          MaxResults: MAX_PAGE_SIZE,
          ...(token ? { NextToken: token } : {}),
        });
        return { items: page.NetworkInterfaces ?? [], next: page.NextToken };
      }),
    );
    out.push(...enis);
  }
  return out;
}

async function describeEnisById(ec2: CountingEc2, ids: string[]): Promise<Ec2Sdk.NetworkInterface[]> {
  const out: Ec2Sdk.NetworkInterface[] = [];
  for (const batch of chunk(ids, MAX_FILTER_VALUES)) {
    const enis = await reading(`DescribeNetworkInterfaces for ${listIds(batch)}`, () =>
      allPages(async (token) => {
        // MaxResults cannot be combined with NetworkInterfaceIds either.
        const page = await ec2.call("DescribeNetworkInterfaces", {
          NetworkInterfaceIds: batch,
          ...(token ? { NextToken: token } : {}),
        });
        return { items: page.NetworkInterfaces ?? [], next: page.NextToken };
      }),
    );
    out.push(...enis);
  }
  return out;
}

async function describeSecurityGroups(ec2: CountingEc2, ids: string[]): Promise<Ec2Sdk.SecurityGroup[]> {
  const out: Ec2Sdk.SecurityGroup[] = [];
  for (const batch of chunk(ids, MAX_FILTER_VALUES)) {
    const groups = await reading(`DescribeSecurityGroups for ${listIds(batch)}`, () =>
      allPages(async (token) => {
        const page = await ec2.call("DescribeSecurityGroups", {
          Filters: [{ Name: "group-id", Values: batch }],
          MaxResults: MAX_PAGE_SIZE,
          ...(token ? { NextToken: token } : {}),
        });
        return { items: page.SecurityGroups ?? [], next: page.NextToken };
      }),
    );
    out.push(...groups);
  }
  return out;
}

/** The backend SG by the LBC's tags, in the VPC given or the one the nodes and pods are in. */
async function findBackendSg(
  ec2: CountingEc2,
  req: Ec2ReadRequest,
  vpcIds: ReadonlySet<string>,
): Promise<Ec2Sdk.SecurityGroup> {
  if (req.vpcId === undefined && vpcIds.size > 1)
    throw new Ec2ReadError(
      `the cluster's instances and network interfaces are in several VPCs (${listIds([...vpcIds].sort())}); ` +
        `pass vpcId or backendSecurityGroupId`,
      undefined,
      "vpcId",
    );
  const vpcId = req.vpcId ?? [...vpcIds][0];
  const where = vpcId ? ` in ${vpcId}` : "";
  const tags = `${BACKEND_SG_CLUSTER_TAG}=${req.clusterName} and ${BACKEND_SG_RESOURCE_TAG}=${BACKEND_SG_RESOURCE_VALUE}`;
  const groups = await reading(`DescribeSecurityGroups tagged ${tags}${where}`, () =>
    allPages(async (token) => {
      const page = await ec2.call("DescribeSecurityGroups", {
        Filters: [
          { Name: `tag:${BACKEND_SG_CLUSTER_TAG}`, Values: [req.clusterName] },
          { Name: `tag:${BACKEND_SG_RESOURCE_TAG}`, Values: [BACKEND_SG_RESOURCE_VALUE] },
          ...(vpcId ? [{ Name: "vpc-id", Values: [vpcId] }] : []),
        ],
        MaxResults: MAX_PAGE_SIZE,
        ...(token ? { NextToken: token } : {}),
      });
      return { items: page.SecurityGroups ?? [], next: page.NextToken };
    }),
  );
  const [only, ...others] = groups;
  if (only === undefined)
    throw new Ec2ReadError(
      `no backend security group found for cluster ${req.clusterName}${where}: tag one with ${tags}, ` +
        `or pass backendSecurityGroupId`,
      undefined,
      "backendSecurityGroupId",
    );
  if (others.length > 0)
    throw new Ec2ReadError(
      `${groups.length} security groups are tagged as the backend security group of cluster ${req.clusterName}${where} ` +
        `(${listIds(groups.map((g) => g.GroupId ?? "?").sort())}): keep the tags ${tags} on one of them, ` +
        `or pass backendSecurityGroupId`,
      undefined,
      "backendSecurityGroupId",
    );
  return only;
}

/** Ingress rules of the given SGs (egress rules are dropped), by group-id filter, paginated. */
export async function describeIngressRules(
  ec2: CountingEc2,
  groupIds: string[],
  extraFilters: Ec2Sdk.Filter[] = [],
): Promise<ExistingRule[]> {
  const out: ExistingRule[] = [];
  for (const batch of chunk(groupIds, MAX_FILTER_VALUES)) {
    const rules = await reading(`DescribeSecurityGroupRules of ${listIds(batch)}`, () =>
      allPages(async (token) => {
        const page = await ec2.call("DescribeSecurityGroupRules", {
          Filters: [{ Name: "group-id", Values: batch }, ...extraFilters],
          MaxResults: MAX_PAGE_SIZE,
          ...(token ? { NextToken: token } : {}),
        });
        return { items: page.SecurityGroupRules ?? [], next: page.NextToken };
      }),
    );
    for (const rule of rules) {
      const existing = toExistingRule(rule);
      if (existing) out.push(existing);
    }
  }
  return out.sort((a, b) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0));
}
