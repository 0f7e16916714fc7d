import { ANN, annotation } from "./annotations.js";
import type { ClusterSnapshot, Ec2Snapshot, Node, PlanOptions, Pod } from "./model.js";
import type { Target } from "./ports.js";
import { type Problem, problem } from "./problems.js";
import { isDeleting } from "./scope.js";

// Where the rules go: the security group on each target's ENI (pkg/networking node/pod ENI info resolvers and
// pkg/targetgroupbinding networking_manager's choice among an ENI's groups).

const CONTROL_PLANE_LABELS = ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];
const EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
const COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type";
const TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler";
const PROVIDER_ID = /^aws:\/\/\/[^/]*\/(i-[0-9a-z]+)$/;

export interface EligibleNode {
  name: string;
  labels: Record<string, string>;
  instanceId?: string;
}

/** Why a node cannot be a target, or undefined when it can (the LBC's IsNodeSuitableAsTrafficProxy + Fargate). */
export function nodeIneligibility(node: Node): string | undefined {
  const labels = node.metadata.labels ?? {};
  if (isDeleting(node.metadata)) return "being deleted";
  for (const l of CONTROL_PLANE_LABELS) if (l in labels) return `control-plane label ${l}`;
  if (EXCLUDE_LABEL in labels) return `label ${EXCLUDE_LABEL}`;
  if (labels[COMPUTE_TYPE_LABEL] === "fargate") return "Fargate";
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "True") return "NotReady";
  if (node.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT)) return `taint ${TO_BE_DELETED_TAINT}`;
  return undefined;
}

export function instanceIdOf(node: Node): string | undefined {
  const m = PROVIDER_ID.exec(node.spec?.providerID ?? "");
  return m?.[1];
}

export function eligibleNodes(cluster: ClusterSnapshot): EligibleNode[] {
  const out: EligibleNode[] = [];
  for (const n of cluster.nodes) {
    if (nodeIneligibility(n) !== undefined) continue;
    const e: EligibleNode = { name: n.metadata.name, labels: n.metadata.labels ?? {} };
    const id = instanceIdOf(n);
    if (id !== undefined) e.instanceId = id;
    out.push(e);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function matchesLabels(node: EligibleNode, selector: Record<string, string>): boolean {
  for (const k of Object.keys(selector)) if (node.labels[k] !== selector[k]) return false;
  return true;
}

interface PodEniEntry {
  eniId?: string;
  privateIp?: string;
}

/** Branch ENI (security groups for pods) from the VPC resource controller's annotation, if any. */
export function branchEniOf(pod: Pod, ip: string): string | undefined | { invalid: string } {
  const raw = annotation(pod.metadata, ANN.podEni);
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { invalid: raw };
  }
  if (!Array.isArray(parsed)) return { invalid: raw };
  const entries = parsed.filter((e): e is PodEniEntry => typeof e === "object" && e !== null);
  const byIp = entries.find((e) => e.privateIp === ip && typeof e.eniId === "string");
  const chosen = byIp ?? entries.find((e) => typeof e.eniId === "string");
  return chosen?.eniId ?? { invalid: raw };
}

/** The one SG of an ENI that the LBC would add rules to, or a Problem naming the ENI and its candidates. */
export function chooseEniSecurityGroup(
  eniId: string,
  ec2: Ec2Snapshot,
  options: PlanOptions,
): { sg: string } | { problem: Problem } {
  const eni = ec2.networkInterfaces[eniId];
  if (eni === undefined) {
    return { problem: problem(`ENI ${eniId}`, "network interface", eniId, "an ENI read from EC2") };
  }
  const sgs = [...eni.securityGroupIds].sort();
  if (sgs.length === 1) return { sg: sgs[0]! };
  const clusterKey = `kubernetes.io/cluster/${options.clusterName}`;
  const extra = options.extraEniSecurityGroupTags ?? {};
  const tagged = sgs.filter((id) => {
    const tags = ec2.securityGroups[id]?.tags;
    if (tags === undefined || !(clusterKey in tags)) return false;
    for (const k of Object.keys(extra)) {
      const want = extra[k];
      if (!(k in tags) || (want !== "" && tags[k] !== want)) return false;
    }
    return true;
  });
  if (tagged.length === 1) return { sg: tagged[0]! };
  const required = [
    clusterKey,
    ...Object.keys(extra).map((k) => (extra[k] === "" ? k : `${k}=${extra[k]}`)),
  ].join(", ");
  const found = tagged.length === 0 ? "none carries" : `${tagged.length} carry`;
  return {
    problem: problem(
      `ENI ${eniId}`,
      "security groups",
      sgs.join(","),
      `exactly one security group tagged ${required}`,
      `${found} the tags`,
    ),
  };
}

/** Resolves targets to destination SGs, memoized per target key so 5,000 objects cost 5,000 lookups. */
export class DestinationResolver {
  private readonly nodes: EligibleNode[];
  private readonly cache = new Map<string, string[]>();
  private readonly ipToEni = new Map<string, string>();
  readonly problems: Problem[] = [];
  private readonly nodeSgCache = new Map<string, string | null>();

  constructor(
    cluster: ClusterSnapshot,
    private readonly ec2: Ec2Snapshot,
    private readonly options: PlanOptions,
  ) {
    this.nodes = eligibleNodes(cluster);
    for (const id of Object.keys(ec2.networkInterfaces).sort()) {
      for (const ip of ec2.networkInterfaces[id]?.privateIpAddresses ?? []) {
        if (!this.ipToEni.has(ip)) this.ipToEni.set(ip, id);
      }
    }
  }

  resolve(target: Target): string[] {
    const override = this.options.targetSecurityGroupIds ?? [];
    if (override.length > 0) return override;
    const hit = this.cache.get(target.key);
    if (hit !== undefined) return hit;
    const sgs = target.kind === "nodes" ? this.resolveNodes(target.labels) : this.resolvePod(target);
    this.cache.set(target.key, sgs);
    return sgs;
  }

  private resolveNodes(labels: Record<string, string>): string[] {
    const out = new Set<string>();
    for (const n of this.nodes) {
      if (!matchesLabels(n, labels)) continue;
      const sg = this.nodeSg(n);
      if (sg !== null) out.add(sg);
    }
    return [...out].sort();
  }

  private nodeSg(n: EligibleNode): string | null {
    const cached = this.nodeSgCache.get(n.name);
    if (cached !== undefined) return cached;
    let result: string | null = null;
    if (n.instanceId === undefined) {
      this.problems.push(problem(`Node ${n.name}`, "spec.providerID", "", "aws:///<zone>/<instance id>"));
    } else {
      const eni = this.ec2.instancePrimaryEni[n.instanceId];
      if (eni === undefined) {
        this.problems.push(
          problem(
            `Node ${n.name}`,
            "instance",
            n.instanceId,
            "an instance whose primary ENI was read from EC2",
          ),
        );
      } else {
        const choice = chooseEniSecurityGroup(eni, this.ec2, this.options);
        if ("sg" in choice) result = choice.sg;
        else this.problems.push(choice.problem);
      }
    }
    this.nodeSgCache.set(n.name, result);
    return result;
  }

  private resolvePod(target: Extract<Target, { kind: "pod" }>): string[] {
    const podRef =
      target.pod === undefined
        ? `Endpoint ${target.ip}`
        : `Pod ${target.namespace}/${target.pod.metadata.name}`;
    let eni: string | undefined;
    if (target.pod !== undefined) {
      const branch = branchEniOf(target.pod, target.ip);
      if (typeof branch === "object") {
        this.problems.push(
          problem(
            podRef,
            `annotation ${ANN.podEni}`,
            branch.invalid,
            'a JSON array of {"eniId": …, "privateIp": …}',
          ),
        );
        return [];
      }
      eni = branch;
    }
    eni ??= this.ipToEni.get(target.ip);
    if (eni === undefined) {
      this.problems.push(problem(podRef, "IP", target.ip, "an address on an ENI read from EC2"));
      return [];
    }
    const choice = chooseEniSecurityGroup(eni, this.ec2, this.options);
    if ("sg" in choice) return [choice.sg];
    this.problems.push(choice.problem);
    return [];
  }

  /** What EC2 must be asked about the given targets (phase 1, without EC2). */
  static needsOf(
    cluster: ClusterSnapshot,
    targets: Iterable<Target>,
  ): { instanceIds: string[]; podIps: string[]; branchEniIds: string[] } {
    const nodes = eligibleNodes(cluster);
    const instanceIds = new Set<string>();
    const podIps = new Set<string>();
    const branch = new Set<string>();
    const selectors = new Map<string, Record<string, string>>();
    for (const t of targets) {
      if (t.kind === "nodes") selectors.set(t.key, t.labels);
      else {
        const b = t.pod === undefined ? undefined : branchEniOf(t.pod, t.ip);
        if (typeof b === "string") branch.add(b);
        else podIps.add(t.ip);
      }
    }
    for (const labels of selectors.values()) {
      for (const n of nodes)
        if (n.instanceId !== undefined && matchesLabels(n, labels)) instanceIds.add(n.instanceId);
    }
    return {
      instanceIds: [...instanceIds].sort(),
      podIps: [...podIps].sort(),
      branchEniIds: [...branch].sort(),
    };
  }
}
