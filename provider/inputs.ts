// The resource's inputs and outputs as the provider sees them (resolved values), and their validation.
// Validation collects every problem with its property path, so one `pulumi preview` shows them all.
import type { NamespacePolicy, PlanOptions, PortMode, TargetType } from "./domain/model";
import { DEFAULT_PLAN_OPTIONS } from "./domain/plan";

export interface ClusterInputs {
  /** the EKS cluster name: tags kubernetes.io/cluster/<name>, elbv2.k8s.aws/cluster=<name> */
  name: string;
  /** kubeconfig contents (kept secret); absent = default loading rules of the provider process */
  kubeconfig?: string;
  context?: string;
}

export interface BackendSecurityGroupRulesInputs {
  manageBackendSecurityGroupRules?: boolean;
  cluster: ClusterInputs;
  region?: string;
  backendSecurityGroupId?: string;
  vpcId?: string;
  targetSecurityGroupIds?: string[];
  extraEniSecurityGroupTags?: Record<string, string>;
  portMode?: PortMode;
  namespaces?: NamespacePolicy;
  ingressClass?: string;
  loadBalancerClass?: string;
  defaultTargetType?: TargetType;
  ownerId: string;
  adoptExistingRules?: boolean;
  ruleQuota?: number;
  /** share of our rules one update may revoke before it asks for confirmation (0..1); default 0.5 */
  maxRevokeFraction?: number;
  /** set to true for one run to allow a revocation larger than maxRevokeFraction */
  confirmMassRevoke?: boolean;
  /** computed by check: rule identity -> the objects that need it ("Ingress ns/a, Service ns/b") */
  desiredRules?: Record<string, string>;
  /** computed by check: object -> why it gets no rules */
  skippedObjects?: Record<string, string>;
}

export interface RuleState {
  securityGroupId: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  sourceSecurityGroupId: string;
  /** sgr- id; absent when an identical foreign rule's id could not be learned */
  ruleId?: string;
  /** true when the rule carries our owner tag (we created or adopted it) */
  owned: boolean;
  neededBy: string[];
}

export interface RuleCounts {
  rules: number;
  owned: number;
  foreign: number;
  skippedObjects: number;
}

export interface BackendSecurityGroupRulesOutputs extends Omit<BackendSecurityGroupRulesInputs, "cluster"> {
  /** the cluster reference without its kubeconfig (secrets never reach outputs) */
  cluster: Omit<ClusterInputs, "kubeconfig">;
  stateVersion: number;
  rules: Record<string, RuleState>;
  counts: RuleCounts;
  /** the backend SG the rules allow (resolved from tags when not given) */
  sourceSecurityGroupId?: string;
}

export const STATE_VERSION = 1;

/** How the Pulumi engine marks a value not known yet during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

export interface InputFailure {
  property: string;
  reason: string;
}

const SG_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;
const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PORT_MODES: PortMode[] = ["minimal", "range", "all"];
const TARGET_TYPES: TargetType[] = ["instance", "ip"];

function show(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : (JSON.stringify(v) ?? String(v));
}

/**
 * Checks the inputs (never the kubeconfig's contents, which would be echoed) and returns every failure.
 * Values that are still unknown during preview are not checked.
 */
export function validateInputs(raw: Record<string, unknown>): InputFailure[] {
  const failures: InputFailure[] = [];
  const fail = (property: string, value: unknown, expected: string) =>
    failures.push({ property, reason: `${property} is ${show(value)}; expected ${expected}` });
  const known = (v: unknown) => v !== undefined && v !== null && !containsUnknown(v);

  const optionalBool = (p: string) => {
    const v = raw[p];
    if (known(v) && typeof v !== "boolean") fail(p, v, "true or false");
  };
  const optionalString = (p: string, v: unknown, pattern?: RegExp, expected?: string) => {
    if (!known(v)) return;
    if (typeof v !== "string" || v === "") fail(p, v, expected ?? "a non-empty string");
    else if (pattern && !pattern.test(v)) fail(p, v, expected ?? pattern.source);
  };

  optionalBool("manageBackendSecurityGroupRules");
  optionalBool("adoptExistingRules");
  optionalBool("confirmMassRevoke");

  const cluster = raw.cluster;
  if (cluster === undefined || cluster === null) {
    failures.push({
      property: "cluster",
      reason: "cluster is missing; expected { name, kubeconfig?, context? }",
    });
  } else if (known(cluster) || typeof cluster === "object") {
    if (typeof cluster !== "object" || Array.isArray(cluster))
      fail("cluster", cluster, "{ name, kubeconfig?, context? }");
    else {
      const c = cluster as Record<string, unknown>;
      if (c.name === undefined)
        failures.push({
          property: "cluster.name",
          reason: "cluster.name is missing; expected the EKS cluster name",
        });
      else
        optionalString(
          "cluster.name",
          c.name,
          /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/,
          "an EKS cluster name (letters, digits, - and _, at most 100)",
        );
      // The kubeconfig is secret: say what is wrong without showing it.
      if (known(c.kubeconfig) && typeof c.kubeconfig !== "string")
        failures.push({
          property: "cluster.kubeconfig",
          reason: "cluster.kubeconfig is not a string; expected kubeconfig YAML",
        });
      optionalString("cluster.context", c.context);
    }
  }

  optionalString("region", raw.region, /^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as us-east-1");
  optionalString(
    "backendSecurityGroupId",
    raw.backendSecurityGroupId,
    SG_ID,
    "a security group id such as sg-0123456789abcdef0",
  );
  optionalString("vpcId", raw.vpcId, VPC_ID, "a VPC id such as vpc-0123456789abcdef0");
  optionalString(
    "ownerId",
    raw.ownerId,
    /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,200}$/,
    "1 to 200 characters allowed in EC2 tags and descriptions",
  );
  optionalString("ingressClass", raw.ingressClass);
  optionalString("loadBalancerClass", raw.loadBalancerClass);

  const mode = raw.portMode;
  if (known(mode) && !PORT_MODES.includes(mode as PortMode))
    fail("portMode", mode, "one of minimal, range, all");
  const tt = raw.defaultTargetType;
  if (known(tt) && !TARGET_TYPES.includes(tt as TargetType)) fail("defaultTargetType", tt, "instance or ip");

  const quota = raw.ruleQuota;
  if (known(quota) && (typeof quota !== "number" || !Number.isInteger(quota) || quota < 1 || quota > 1000))
    fail(
      "ruleQuota",
      quota,
      "a whole number from 1 to 1000 (EC2's rules-per-security-group quota, default 60)",
    );
  const frac = raw.maxRevokeFraction;
  if (known(frac) && (typeof frac !== "number" || frac < 0 || frac > 1))
    fail("maxRevokeFraction", frac, "a number from 0 to 1");

  const sgs = raw.targetSecurityGroupIds;
  if (known(sgs)) {
    if (!Array.isArray(sgs)) fail("targetSecurityGroupIds", sgs, "a list of security group ids");
    else {
      const seen = new Set<string>();
      sgs.forEach((v, i) => {
        optionalString(
          `targetSecurityGroupIds[${i}]`,
          v,
          SG_ID,
          "a security group id such as sg-0123456789abcdef0",
        );
        if (typeof v === "string" && seen.has(v))
          fail(`targetSecurityGroupIds[${i}]`, v, "each security group once");
        if (typeof v === "string") seen.add(v);
      });
    }
  }

  const tags = raw.extraEniSecurityGroupTags;
  if (known(tags)) {
    if (typeof tags !== "object" || Array.isArray(tags))
      fail("extraEniSecurityGroupTags", tags, "a map of tag key to value");
    else
      for (const [k, v] of Object.entries(tags as Record<string, unknown>))
        if (typeof v !== "string")
          fail(`extraEniSecurityGroupTags.${k}`, v, `a string (use "" to require only the key)`);
  }

  const ns = raw.namespaces;
  if (known(ns)) {
    if (typeof ns !== "object" || Array.isArray(ns))
      fail("namespaces", ns, "{ include?, exclude?, overrides? }");
    else {
      const policy = ns as Record<string, unknown>;
      for (const key of Object.keys(policy))
        if (!["include", "exclude", "overrides"].includes(key))
          fail(`namespaces.${key}`, policy[key], "only include, exclude and overrides");
      const lists: Record<string, Set<string>> = {};
      for (const listName of ["include", "exclude"] as const) {
        const list = policy[listName];
        lists[listName] = new Set();
        if (list === undefined) continue;
        if (!Array.isArray(list)) {
          fail(`namespaces.${listName}`, list, "a list of namespace names");
          continue;
        }
        list.forEach((v, i) => {
          const p = `namespaces.${listName}[${i}]`;
          if (typeof v !== "string" || !NAMESPACE.test(v))
            fail(p, v, "a namespace name (lower-case DNS label)");
          else if (lists[listName]!.has(v)) fail(p, v, `each namespace once in namespaces.${listName}`);
          else lists[listName]!.add(v);
        });
      }
      for (const name of lists.include ?? [])
        if (lists.exclude?.has(name))
          failures.push({
            property: "namespaces.exclude",
            reason: `namespace "${name}" is in both namespaces.include and namespaces.exclude; expected it in one list only`,
          });
      const overrides = policy.overrides;
      if (overrides !== undefined) {
        if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides))
          fail("namespaces.overrides", overrides, "a map of namespace name to true or false");
        else
          for (const [k, v] of Object.entries(overrides as Record<string, unknown>)) {
            if (!NAMESPACE.test(k)) fail(`namespaces.overrides`, k, "namespace names as keys");
            else if (typeof v !== "boolean") fail(`namespaces.overrides.${k}`, v, "true or false");
          }
      }
    }
  }
  return failures;
}

/** The planner's options from validated inputs, with the documented defaults. */
export function toPlanOptions(inputs: BackendSecurityGroupRulesInputs): PlanOptions {
  return {
    ...DEFAULT_PLAN_OPTIONS,
    clusterName: inputs.cluster.name,
    ownerId: inputs.ownerId,
    manageBackendSecurityGroupRules: inputs.manageBackendSecurityGroupRules ?? false,
    portMode: inputs.portMode ?? DEFAULT_PLAN_OPTIONS.portMode,
    namespaces: inputs.namespaces ?? {},
    ingressClass: inputs.ingressClass ?? DEFAULT_PLAN_OPTIONS.ingressClass,
    loadBalancerClass: inputs.loadBalancerClass ?? DEFAULT_PLAN_OPTIONS.loadBalancerClass,
    defaultTargetType: inputs.defaultTargetType ?? DEFAULT_PLAN_OPTIONS.defaultTargetType,
    adoptExistingRules: inputs.adoptExistingRules ?? false,
    ...(inputs.targetSecurityGroupIds?.length
      ? { targetSecurityGroupIds: inputs.targetSecurityGroupIds }
      : {}),
    ...(inputs.extraEniSecurityGroupTags
      ? { extraEniSecurityGroupTags: inputs.extraEniSecurityGroupTags }
      : {}),
  };
}
