// Wires read -> plan -> apply. Reading and writing are the adapters' (k8s/, aws/); deciding is the domain's.
import { ApplyError, applyRuleChanges } from "./aws/apply";
import { CountingEc2, createEc2Client, type Ec2Client } from "./aws/client";
import { findOwnedRuleGroups } from "./aws/owned";
import { describeIngressRules, readEc2Snapshot } from "./aws/read";
import type { ApplyResult, CallCounts } from "./aws/types";
import { eligibleNodes } from "./domain/destinations";
import type { ExistingRule } from "./domain/model";
import { computeEc2Needs, type DesiredRule, planRules, type RulePlan } from "./domain/plan";
import { desiredRulesFromKeys, parseRuleKey, type RuleChangeSet, reconcileRules } from "./domain/reconcile";
import { existingRuleKey, isOwnedRule, ruleDescription } from "./domain/rules";
import {
  type BackendSecurityGroupRulesInputs,
  type BackendSecurityGroupRulesOutputs,
  type RuleState,
  STATE_VERSION,
  toPlanOptions,
} from "./inputs";
import { readClusterSnapshot } from "./k8s/read";

/** Where the provider process talks to EC2: stack config (aws:region) and the SDK's environment. */
export interface ProviderEnv {
  region?: string;
  /** aws:profile from stack config */
  profile?: string;
  endpoint?: string;
}

export interface PlanRun {
  plan: RulePlan;
  sourceSecurityGroupId: string;
  k8sRequests: Record<string, number>;
  ec2Calls: CallCounts;
}

export const DEFAULT_MAX_REVOKE_FRACTION = 0.5;

function addCalls(into: CallCounts, from: CallCounts): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

async function ec2ClientFor(inputs: { region?: string | undefined }, env: ProviderEnv): Promise<Ec2Client> {
  const region = inputs.region ?? env.region;
  const endpoint = env.endpoint ?? process.env.AWS_ENDPOINT_URL_EC2;
  return await createEc2Client({
    ...(region !== undefined ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(env.profile !== undefined ? { profile: env.profile } : {}),
  });
}

function securityGroupsOfKeys(keys: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    const parsed = parseRuleKey(k);
    if (parsed) out.add(parsed.securityGroupId);
  }
  return [...out];
}

/** Reads the cluster and EC2 and plans. Any failed read fails the whole run: nothing is planned from a partial view. */
export async function readAndPlan(
  inputs: BackendSecurityGroupRulesInputs,
  env: ProviderEnv,
  previousDesiredRules: Record<string, string> = {},
): Promise<PlanRun> {
  const client = await ec2ClientFor(inputs, env);
  try {
    const options = toPlanOptions(inputs);
    // The cluster and our existing rules are independent reads: do them together, but let both finish before
    // failing, so the EC2 client is never destroyed under a request in flight and a cluster error always wins
    // over an EC2 one (it decides the failure's property; Promise.all made that a race).
    const [clusterRead, ownedRead] = await Promise.allSettled([
      readClusterSnapshot(inputs.cluster),
      findOwnedRuleGroups(client, inputs.ownerId),
    ]);
    if (clusterRead.status === "rejected") throw clusterRead.reason;
    if (ownedRead.status === "rejected") throw ownedRead.reason;
    const cluster = clusterRead.value;
    const owned = ownedRead.value;
    const planNeeds = computeEc2Needs(cluster.snapshot, options);
    // Every eligible node's instance is described, not only the targets': their tags prove the kubeconfig points
    // at the named cluster even when no object targets nodes (ip targets, explicit destination SGs).
    const nodeInstances = eligibleNodes(cluster.snapshot).flatMap((n) =>
      n.instanceId !== undefined ? [n.instanceId] : [],
    );
    const needs = {
      ...planNeeds,
      instanceIds: [...new Set([...planNeeds.instanceIds, ...nodeInstances])].sort(),
    };
    const ownedSecurityGroupIds = [
      ...new Set([...owned.groupIds, ...securityGroupsOfKeys(Object.keys(previousDesiredRules))]),
    ].sort();
    const ec2 = await readEc2Snapshot(client, {
      needs,
      clusterName: inputs.cluster.name,
      ownerId: inputs.ownerId,
      ownedSecurityGroupIds,
      ...(inputs.backendSecurityGroupId !== undefined
        ? { backendSecurityGroupId: inputs.backendSecurityGroupId }
        : {}),
      ...(inputs.vpcId !== undefined ? { vpcId: inputs.vpcId } : {}),
      ...(inputs.targetSecurityGroupIds?.length
        ? { targetSecurityGroupIds: inputs.targetSecurityGroupIds }
        : {}),
      ...(inputs.ruleQuota !== undefined ? { ruleQuota: inputs.ruleQuota } : {}),
    });
    const plan = planRules(cluster.snapshot, ec2.snapshot, options);
    const ec2Calls: CallCounts = {};
    addCalls(ec2Calls, owned.calls);
    addCalls(ec2Calls, ec2.calls);
    return {
      plan,
      sourceSecurityGroupId: ec2.snapshot.backendSecurityGroupId,
      k8sRequests: cluster.requests,
      ec2Calls,
    };
  } finally {
    client.destroy();
  }
}

/** The checked-inputs form of a plan: identity -> the objects that need it. */
export function desiredRulesOf(plan: RulePlan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(plan.rules).sort()) out[key] = plan.rules[key]!.neededBy.join(", ");
  return out;
}

export function skippedObjectsOf(plan: RulePlan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of plan.skipped) out[s.object] = out[s.object] ? `${out[s.object]}; ${s.reason}` : s.reason;
  return out;
}

/** Thrown when an apply fails part-way: `id` and `properties` let the engine record what was done. */
export class PartialApplyError extends Error {
  override readonly name = "PartialApplyError";
  constructor(
    message: string,
    readonly id: string,
    readonly properties: BackendSecurityGroupRulesOutputs,
  ) {
    super(message);
  }
}

async function readExistingRules(
  client: Ec2Client,
  groupIds: string[],
  calls: CallCounts,
): Promise<Record<string, ExistingRule[]>> {
  const ec2 = new CountingEc2(client);
  const rules = await describeIngressRules(ec2, [...new Set(groupIds)].sort());
  addCalls(calls, ec2.calls);
  const bySg: Record<string, ExistingRule[]> = {};
  for (const sg of groupIds) bySg[sg] = [];
  for (const r of rules) {
    const list = bySg[r.groupId] ?? [];
    list.push(r);
    bySg[r.groupId] = list;
  }
  return bySg;
}

function ownedRuleCount(existing: Record<string, ExistingRule[]>, ownerId: string): number {
  let n = 0;
  for (const rules of Object.values(existing)) for (const r of rules) if (isOwnedRule(r, ownerId)) n++;
  return n;
}

/**
 * Applies the rules recorded at check time (what the preview showed): re-reads the affected security groups,
 * reconciles, then authorizes before it revokes. Returns the new outputs.
 */
export async function applyDesiredRules(
  id: string,
  inputs: BackendSecurityGroupRulesInputs,
  previous: BackendSecurityGroupRulesOutputs | undefined,
  env: ProviderEnv,
  sourceSecurityGroupId?: string,
): Promise<{ outputs: BackendSecurityGroupRulesOutputs; applied: ApplyResult; changes: RuleChangeSet }> {
  const desiredRules = inputs.desiredRules ?? {};
  const client = await ec2ClientFor(inputs, env);
  const calls: CallCounts = {};
  try {
    const owned = await findOwnedRuleGroups(client, inputs.ownerId);
    addCalls(calls, owned.calls);
    const groups = [
      ...securityGroupsOfKeys(Object.keys(desiredRules)),
      ...securityGroupsOfKeys(Object.keys(previous?.rules ?? {})),
      ...owned.groupIds,
    ];
    const existing = await readExistingRules(client, groups, calls);
    const desired = desiredRulesFromKeys(desiredRules);
    const changes = reconcileRules(desired, existing, inputs.ownerId, inputs.adoptExistingRules ?? false);

    // A plan that would revoke most of what we own usually means the wrong cluster or an empty read.
    const ownedNow = ownedRuleCount(existing, inputs.ownerId);
    const fraction = inputs.maxRevokeFraction ?? DEFAULT_MAX_REVOKE_FRACTION;
    if (ownedNow > 0 && changes.toRevoke.length > fraction * ownedNow && !inputs.confirmMassRevoke) {
      throw new Error(
        `refusing to revoke ${changes.toRevoke.length} of the ${ownedNow} rules owned by "${inputs.ownerId}" (more than maxRevokeFraction ${fraction}); if the cluster really lost these workloads, set confirmMassRevoke: true for one update`,
      );
    }

    let applied: ApplyResult;
    try {
      applied = await applyRuleChanges(client, {
        toAuthorize: changes.toAuthorize,
        toRevoke: changes.toRevoke,
        toAdopt: changes.toAdopt,
        ownerId: inputs.ownerId,
        description: ruleDescription(inputs.ownerId),
      });
    } catch (err) {
      if (err instanceof ApplyError) {
        const outputs = buildOutputs(inputs, changes, err.partial, previous, sourceSecurityGroupId);
        throw new PartialApplyError(
          `${err.message}; what was applied is recorded, run the update again`,
          id,
          outputs,
        );
      }
      throw err;
    }
    addCalls(calls, applied.calls);
    const outputs = buildOutputs(inputs, changes, applied, previous, sourceSecurityGroupId);
    return { outputs, applied: { ...applied, calls }, changes };
  } finally {
    client.destroy();
  }
}

function ruleState(d: DesiredRule, ruleId: string | undefined, owned: boolean): RuleState {
  return {
    securityGroupId: d.securityGroupId,
    protocol: d.protocol,
    fromPort: d.fromPort,
    toPort: d.toPort,
    sourceSecurityGroupId: d.sourceSecurityGroupId,
    ...(ruleId !== undefined ? { ruleId } : {}),
    owned,
    neededBy: d.neededBy,
  };
}

/** State after an apply (complete or partial): every desired rule that exists now, and whether it is ours. */
function buildOutputs(
  inputs: BackendSecurityGroupRulesInputs,
  changes: RuleChangeSet,
  applied: ApplyResult,
  previous: BackendSecurityGroupRulesOutputs | undefined,
  sourceSecurityGroupId: string | undefined,
): BackendSecurityGroupRulesOutputs {
  const authorized = new Map(applied.authorized.map((a) => [a.key, a.ruleId]));
  const adopted = new Map(applied.adopted.map((a) => [a.key, a.ruleId]));
  const duplicates = new Set(applied.duplicates);
  const revoked = new Set([...applied.revoked, ...applied.alreadyGone]);
  const rules: Record<string, RuleState> = {};
  for (const key of Object.keys(changes.rules).sort()) {
    const d = changes.rules[key]!;
    if (d.state === "present") rules[key] = ruleState(d, d.ruleId, true);
    else if (d.state === "foreign") rules[key] = ruleState(d, d.ruleId, false);
    else if (d.state === "adopt") rules[key] = ruleState(d, adopted.get(key) ?? d.ruleId, adopted.has(key));
    else if (authorized.has(key)) rules[key] = ruleState(d, authorized.get(key), true);
    else if (duplicates.has(key)) rules[key] = ruleState(d, undefined, false);
  }
  // Obsolete rules we still own (a revoke that did not happen) stay in state so nothing is forgotten.
  for (const r of changes.toRevoke) {
    if (revoked.has(r.ruleId)) continue;
    const prev = previous && Object.entries(previous.rules).find(([, s]) => s.ruleId === r.ruleId);
    const key =
      prev?.[0] ?? `${r.groupId}|${r.protocol}|${r.fromPort}-${r.toPort}|${r.sourceSecurityGroupId ?? ""}`;
    rules[key] = {
      securityGroupId: r.groupId,
      protocol: r.protocol,
      fromPort: r.fromPort,
      toPort: r.toPort,
      sourceSecurityGroupId: r.sourceSecurityGroupId ?? "",
      ruleId: r.ruleId,
      owned: true,
      neededBy: [],
    };
  }
  const values = Object.values(rules);
  const { cluster, ...rest } = inputs;
  const source = sourceSecurityGroupId ?? values[0]?.sourceSecurityGroupId ?? previous?.sourceSecurityGroupId;
  return {
    ...rest,
    cluster: { name: cluster.name, ...(cluster.context !== undefined ? { context: cluster.context } : {}) },
    stateVersion: STATE_VERSION,
    rules,
    counts: {
      rules: values.length,
      owned: values.filter((r) => r.owned).length,
      foreign: values.filter((r) => !r.owned).length,
      skippedObjects: Object.keys(inputs.skippedObjects ?? {}).length,
    },
    ...(source !== undefined ? { sourceSecurityGroupId: source } : {}),
  };
}

/** Runs `fn` with an EC2 client for the resource's region, and always releases it. */
async function withEc2<T>(
  where: { region?: string | undefined },
  env: ProviderEnv,
  fn: (client: Ec2Client) => Promise<T>,
): Promise<T> {
  const client = await ec2ClientFor(where, env);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** Revokes every rule carrying our tag, found from state and by tag; works without the cluster. */
export async function revokeAllOwned(
  outputs: BackendSecurityGroupRulesOutputs,
  env: ProviderEnv,
): Promise<ApplyResult> {
  const calls: CallCounts = {};
  return await withEc2(outputs, env, async (client) => {
    const owned = await findOwnedRuleGroups(client, outputs.ownerId);
    addCalls(calls, owned.calls);
    const groups = [...Object.values(outputs.rules ?? {}).map((r) => r.securityGroupId), ...owned.groupIds];
    const existing = await readExistingRules(client, groups, calls);
    const toRevoke = Object.values(existing)
      .flat()
      .filter((r) => isOwnedRule(r, outputs.ownerId));
    const applied = await applyRuleChanges(client, {
      toAuthorize: [],
      toRevoke,
      toAdopt: [],
      ownerId: outputs.ownerId,
      description: ruleDescription(outputs.ownerId),
    });
    addCalls(calls, applied.calls);
    return { ...applied, calls };
  });
}

/**
 * The desired rules (identities) that no rule in EC2 satisfies now. A rule recorded in state can go without our
 * doing: another stack whose identical rule satisfied ours was destroyed, or someone revoked it by hand.
 */
export async function rulesMissingInEc2(
  outputs: BackendSecurityGroupRulesOutputs,
  keys: string[],
  env: ProviderEnv,
): Promise<string[]> {
  return await withEc2(outputs, env, async (client) => {
    const existing = await readExistingRules(client, securityGroupsOfKeys(keys), {});
    const present = new Set<string>();
    for (const list of Object.values(existing))
      for (const r of list) {
        const k = existingRuleKey(r);
        if (k !== undefined) present.add(k);
      }
    return keys.filter((k) => !present.has(k));
  });
}

/** Refresh: which of the rules in state still exist in EC2 (by sgr- id), with their ownership as EC2 says. */
export async function refreshRules(
  outputs: BackendSecurityGroupRulesOutputs,
  env: ProviderEnv,
): Promise<BackendSecurityGroupRulesOutputs> {
  return await withEc2(outputs, env, async (client) => {
    const groups = Object.values(outputs.rules ?? {}).map((r) => r.securityGroupId);
    const existing = await readExistingRules(client, groups, {});
    const byId = new Map<string, ExistingRule>();
    for (const list of Object.values(existing)) for (const r of list) byId.set(r.ruleId, r);
    const rules: Record<string, RuleState> = {};
    for (const [key, r] of Object.entries(outputs.rules ?? {})) {
      const live = r.ruleId !== undefined ? byId.get(r.ruleId) : undefined;
      if (live === undefined && r.ruleId !== undefined) continue; // revoked out of band
      rules[key] = live ? { ...r, owned: isOwnedRule(live, outputs.ownerId) } : r;
    }
    const desiredRules: Record<string, string> = {};
    for (const [key, v] of Object.entries(outputs.desiredRules ?? {})) if (rules[key]) desiredRules[key] = v;
    const values = Object.values(rules);
    return {
      ...outputs,
      desiredRules,
      rules,
      counts: {
        ...outputs.counts,
        rules: values.length,
        owned: values.filter((r) => r.owned).length,
        foreign: values.filter((r) => !r.owned).length,
      },
    };
  });
}
