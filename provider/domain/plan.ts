import { decideIngressGroup, decideService } from "./decision.js";
import { DestinationResolver } from "./destinations.js";
import type { ClusterSnapshot, Ec2Snapshot, ExistingRule, PlanOptions, PortMode } from "./model.js";
import {
  computeIngressNeeds,
  computeServiceNeeds,
  indexCluster,
  type ObjectNeeds,
  type Protocol,
  type Target,
} from "./ports.js";
import { cmp, normalizeProblems, type Problem, problem } from "./problems.js";
import { reconcileRules } from "./reconcile.js";
import {
  existingRuleKey,
  extraPorts,
  isOwnedRule,
  mergeSmallestGaps,
  type PortRange,
  type RuleKey,
  ruleKey,
  wholeRange,
} from "./rules.js";
import { type ScopedIngress, scopeIngresses, scopeServices } from "./scope.js";
import type { SkippedObject } from "./skipped.js";

export interface DesiredRule {
  key: RuleKey;
  securityGroupId: string;
  protocol: Protocol;
  fromPort: number;
  toPort: number;
  sourceSecurityGroupId: string;
  /** exact needed ports it covers, sorted */
  ports: number[];
  /** sorted, e.g. "Ingress ns/a", "Service ns/b" */
  neededBy: string[];
  state: "present" | "authorize" | "foreign" | "adopt";
  /** existing sgr- id when present/foreign/adopt */
  ruleId?: string;
}

export interface RulePlan {
  rules: Record<RuleKey, DesiredRule>;
  toAuthorize: DesiredRule[];
  /** only rules owned by options.ownerId that are no longer desired */
  toRevoke: ExistingRule[];
  toAdopt: Array<{ rule: DesiredRule; existing: ExistingRule }>;
  satisfiedByForeign: DesiredRule[];
  skipped: SkippedObject[];
  problems: Problem[];
  /** ports the rules allow beyond the exact needed ones, summed over SG/protocol/source */
  extraPortsOpened: number;
  /** what each port mode would open beyond the needed ports, for comparison (minimal: with this plan's budgets) */
  extraPortsByMode: Record<PortMode, number>;
  counts: {
    ingresses: number;
    services: number;
    managedObjects: number;
    rules: number;
    toAuthorize: number;
    toRevoke: number;
    foreign: number;
    adopt: number;
    skipped: number;
    problems: number;
  };
}

/** Phase 1, EC2-independent: what EC2 must be asked (so the EC2 reader describes only what is needed). */
export interface Ec2Needs {
  instanceIds: string[];
  podIps: string[];
  branchEniIds: string[];
}

export const DEFAULT_PLAN_OPTIONS: Omit<PlanOptions, "clusterName" | "ownerId"> = {
  manageBackendSecurityGroupRules: false,
  portMode: "minimal",
  namespaces: {},
  ingressClass: "alb",
  loadBalancerClass: "service.k8s.aws/nlb",
  defaultTargetType: "instance",
  adoptExistingRules: false,
};

interface Collected {
  needs: ObjectNeeds[];
  skipped: SkippedObject[];
  problems: Problem[];
  ingresses: number;
  services: number;
}

/** Scope, decision and ports: everything that depends on the cluster alone. */
function collectNeeds(cluster: ClusterSnapshot, options: PlanOptions): Collected {
  const index = indexCluster(cluster);
  const ing = scopeIngresses(cluster, options);
  const svc = scopeServices(cluster, options);
  const skipped = [...ing.skipped, ...svc.skipped];
  const problems = [...ing.problems, ...svc.problems];
  const needs: ObjectNeeds[] = [];

  const groups = new Map<string, ScopedIngress[]>();
  for (const s of ing.objects) {
    const list = groups.get(s.group);
    if (list === undefined) groups.set(s.group, [s]);
    else list.push(s);
  }
  for (const [group, members] of groups) {
    members.sort((a, b) => cmp(a.ref, b.ref));
    const result = decideIngressGroup(
      group,
      members.map((m) => ({ ref: m.ref, metadata: m.ingress.metadata })),
      options,
    );
    if ("problems" in result) {
      problems.push(...result.problems);
      continue;
    }
    const d = result.decision;
    if (!d.managed) {
      const inGroup = group.startsWith("IngressGroup ") ? ` (${group})` : "";
      for (const m of members) skipped.push({ object: m.ref, reason: d.reason + inGroup, by: d.by });
      continue;
    }
    for (const m of members) needs.push(computeIngressNeeds(m.ref, m.ingress, m.params, options, index));
  }

  for (const s of svc.objects) {
    const result = decideService(s.ref, s.service.metadata, options);
    if ("problems" in result) {
      problems.push(...result.problems);
      continue;
    }
    const d = result.decision;
    if (!d.managed) {
      skipped.push({ object: s.ref, reason: d.reason, by: d.by });
      continue;
    }
    needs.push(computeServiceNeeds(s.ref, s.service, options, index));
  }
  for (const n of needs) problems.push(...n.problems);
  return { needs, skipped, problems, ingresses: ing.objects.length, services: svc.objects.length };
}

export function computeEc2Needs(cluster: ClusterSnapshot, options: PlanOptions): Ec2Needs {
  if ((options.targetSecurityGroupIds ?? []).length > 0)
    return { instanceIds: [], podIps: [], branchEniIds: [] };
  const { needs } = collectNeeds(cluster, options);
  const targets: Target[] = [];
  for (const n of needs) for (const t of n.targets) targets.push(t.target);
  return DestinationResolver.needsOf(cluster, targets);
}

/** port -> objects needing it, per "protocol|source" bucket, per destination SG. */
type Demand = Map<string, Map<string, Map<number, Set<string>>>>;

function addDemand(demand: Demand, sg: string, bucket: string, port: number, ref: string): void {
  let bySg = demand.get(sg);
  if (bySg === undefined) {
    bySg = new Map();
    demand.set(sg, bySg);
  }
  let byPort = bySg.get(bucket);
  if (byPort === undefined) {
    byPort = new Map();
    bySg.set(bucket, byPort);
  }
  let refs = byPort.get(port);
  if (refs === undefined) {
    refs = new Set();
    byPort.set(port, refs);
  }
  refs.add(ref);
}

interface SgRanges {
  ranges: PortRange[][];
  problem?: Problem;
}

/**
 * Minimal mode on one SG: exact ports unless over budget, then smallest gaps merged. The budget is the quota
 * minus the rules on the SG that are not ours, except those identical to a rule we want (they satisfy the need
 * and take no extra slot). Merging can lose such a match, so re-check the total and tighten until it fits.
 */
/** Rules kept free on a security group in minimal mode, so a later change can add before it removes. */
export const TRANSITION_RESERVE = 5;

function minimalRanges(
  sg: string,
  bucketKeys: string[],
  ports: number[][],
  existingOnSg: ExistingRule[],
  ec2: Ec2Snapshot,
  options: PlanOptions,
): SgRanges {
  const notOurs = existingOnSg.filter((r) => !isOwnedRule(r, options.ownerId));
  const notOursKeys = new Set<string>();
  for (const r of notOurs) {
    const k = existingRuleKey(r);
    if (k !== undefined) notOursKeys.add(k);
  }
  const split = bucketKeys.map((b) => b.split("|") as [string, string]);
  const matched = (ranges: PortRange[][]): number => {
    if (notOursKeys.size === 0) return 0;
    let n = 0;
    ranges.forEach((rs, b) => {
      const [protocol, source] = split[b]!;
      for (const r of rs) {
        const k = ruleKey({
          securityGroupId: sg,
          protocol,
          fromPort: r.from,
          toPort: r.to,
          sourceSecurityGroupId: source,
        });
        if (notOursKeys.has(k)) n++;
      }
    });
    return n;
  };
  const exact = ports.map((ps) => ps.map((p) => ({ from: p, to: p })));
  // EC2 counts a new rule before the old one it replaces is revoked (we add before we remove), so a full SG
  // could never change again: keep TRANSITION_RESERVE rules free, unless that alone would make the plan impossible.
  const buckets = ports.filter((p) => p.length > 0).length;
  const reserve = Math.max(0, Math.min(TRANSITION_RESERVE, ec2.ruleQuota - notOurs.length - buckets));
  const quota = ec2.ruleQuota - reserve;
  let budget = quota - (notOurs.length - matched(exact));
  for (;;) {
    const ranges = mergeSmallestGaps(ports, budget);
    if (ranges === undefined) {
      const needed = ports.filter((p) => p.length > 0).length;
      const free = Math.max(0, ec2.ruleQuota - notOurs.length);
      return {
        ranges: ports.map((ps) => wholeRange(ps, "range")),
        problem: problem(
          `SecurityGroup ${sg}`,
          "rules needed",
          String(needed),
          `at most ${free} (quota ${ec2.ruleQuota} minus ${notOurs.length} rules not owned by ${options.ownerId})`,
          "one range per protocol and source does not fit; raise the quota or use fewer destination groups",
        ),
      };
    }
    const count = ranges.reduce((n, r) => n + r.length, 0);
    const total = notOurs.length + count - matched(ranges);
    if (total <= quota) return { ranges };
    budget -= total - quota;
  }
}

function wholeRangesChecked(
  sg: string,
  ports: number[][],
  mode: "range" | "all",
  existingOnSg: ExistingRule[],
  ec2: Ec2Snapshot,
  options: PlanOptions,
): SgRanges {
  const ranges = ports.map((ps) => wholeRange(ps, mode));
  const notOurs = existingOnSg.filter((r) => !isOwnedRule(r, options.ownerId)).length;
  const free = ec2.ruleQuota - notOurs;
  if (ports.length <= free) return { ranges };
  return {
    ranges,
    problem: problem(
      `SecurityGroup ${sg}`,
      "rules needed",
      String(ports.length),
      `at most ${Math.max(0, free)} (quota ${ec2.ruleQuota} minus ${notOurs} rules not owned by ${options.ownerId})`,
    ),
  };
}

export function planRules(cluster: ClusterSnapshot, ec2: Ec2Snapshot, options: PlanOptions): RulePlan {
  const collected = collectNeeds(cluster, options);
  const problems = collected.problems;
  const source = ec2.backendSecurityGroupId;
  if (source === "") {
    problems.push(problem("options", "backendSecurityGroupId", "", "the backend security group id (sg-…)"));
  }
  const resolver = new DestinationResolver(cluster, ec2, options);
  const demand: Demand = new Map();
  for (const n of collected.needs) {
    for (const tp of n.targets) {
      for (const sg of resolver.resolve(tp.target)) {
        for (const p of tp.ports) addDemand(demand, sg, `${p.protocol}|${source}`, p.port, n.ref);
      }
    }
  }
  problems.push(...resolver.problems);

  const desired: DesiredRule[] = [];
  let extraPortsOpened = 0;
  const extraByMode: Record<PortMode, number> = { minimal: 0, range: 0, all: 0 };
  for (const sg of [...demand.keys()].sort()) {
    const bySg = demand.get(sg)!;
    const bucketKeys = [...bySg.keys()].sort();
    // A typed array sorts numbers natively, without a comparator call per comparison.
    const ports = bucketKeys.map((b) => Array.from(Float64Array.from(bySg.get(b)!.keys()).sort()));
    const existingOnSg = ec2.rules[sg] ?? [];
    const chosen =
      options.portMode === "minimal"
        ? minimalRanges(sg, bucketKeys, ports, existingOnSg, ec2, options)
        : wholeRangesChecked(sg, ports, options.portMode, existingOnSg, ec2, options);
    if (chosen.problem !== undefined) problems.push(chosen.problem);
    const minimal =
      options.portMode === "minimal"
        ? chosen.ranges
        : minimalRanges(sg, bucketKeys, ports, existingOnSg, ec2, options).ranges;
    ports.forEach((ps, b) => {
      extraByMode.minimal += extraPorts(minimal[b] ?? [], ps);
      extraByMode.range += extraPorts(wholeRange(ps, "range"), ps);
      extraByMode.all += extraPorts(wholeRange(ps, "all"), ps);
    });

    bucketKeys.forEach((bucket, b) => {
      const [protocol, src] = bucket.split("|") as [Protocol, string];
      const byPort = bySg.get(bucket)!;
      const ps = ports[b]!;
      const ranges = chosen.ranges[b] ?? [];
      extraPortsOpened += extraPorts(ranges, ps);
      let i = 0;
      for (const r of ranges) {
        const covered: number[] = [];
        const refs = new Set<string>();
        // ports are sorted and ranges disjoint and ordered: one sweep.
        while (i < ps.length && ps[i]! < r.from) i++;
        while (i < ps.length && ps[i]! <= r.to) {
          covered.push(ps[i]!);
          for (const ref of byPort.get(ps[i]!)!) refs.add(ref);
          i++;
        }
        const identity = {
          securityGroupId: sg,
          protocol,
          fromPort: r.from,
          toPort: r.to,
          sourceSecurityGroupId: src,
        };
        desired.push({
          key: ruleKey(identity),
          ...identity,
          ports: covered,
          neededBy: [...refs].sort(),
          state: "authorize",
        });
      }
    });
  }

  desired.sort((a, b) => cmp(a.key, b.key));
  const { rules, toAuthorize, toRevoke, toAdopt, satisfiedByForeign } = reconcileRules(
    desired,
    ec2.rules,
    options.ownerId,
    options.adoptExistingRules,
  );

  const skipped = [...collected.skipped].sort((a, b) => cmp(a.object, b.object) || cmp(a.reason, b.reason));
  const finalProblems = normalizeProblems(problems);
  return {
    rules,
    toAuthorize,
    toRevoke,
    toAdopt,
    satisfiedByForeign,
    skipped,
    problems: finalProblems,
    extraPortsOpened,
    extraPortsByMode: extraByMode,
    counts: {
      ingresses: collected.ingresses,
      services: collected.services,
      managedObjects: collected.needs.length,
      rules: desired.length,
      toAuthorize: toAuthorize.length,
      toRevoke: toRevoke.length,
      foreign: satisfiedByForeign.length,
      adopt: toAdopt.length,
      skipped: skipped.length,
      problems: finalProblems.length,
    },
  };
}
