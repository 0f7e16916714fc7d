// Applies a rule plan to EC2 in a few batched calls: adopt (tag), then per destination SG one authorize with every
// new rule, then — only once every authorize succeeded — per SG one revoke of our obsolete rules by sgr- id.
//
// Invariants kept here: a rule without our tag is never revoked (1); identical foreign rules satisfy the need
// and are reported (3); add before remove (4); what was applied is reported even when a later step fails (5).

import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import { type ExistingRule, OWNER_TAG_KEY } from "../domain/model";
import { isOwnedRule } from "../domain/rules";
import { awsErrorCode, CountingEc2, describeAwsError, type Ec2Caller } from "./client";
import { describeIngressRules } from "./read";
import {
  buildIpPermissions,
  checkRuleChanges,
  chunk,
  groupBy,
  listIds,
  mapBounded,
  ruleIdentity,
  uniqueSorted,
} from "./rules";
import type { AppliedRule, ApplyResult, DesiredRule, RuleChanges } from "./types";

export interface ApplyOptions {
  /** security groups worked on at once; default 4 (writes share EC2's small Authorize/Revoke bucket) */
  concurrency?: number;
  /**
   * waits before each re-read that learns new rules' ids, when a read misses some (EC2 is eventually
   * consistent); default 0, 100, 250, 500, 1000, 2000 ms
   */
  consistencyDelaysMs?: number[];
}

/**
 * Something failed part-way. `partial` holds exactly what was done before (and beside) the failure, so the
 * caller records it in state and the next run converges; `cause` is the first underlying error.
 */
export class ApplyError extends Error {
  override readonly name = "ApplyError";
  readonly partial: ApplyResult;
  /** EC2 error code of the cause, when it has one */
  readonly code: string | undefined;
  constructor(message: string, partial: ApplyResult, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.partial = partial;
    this.code = cause === undefined ? undefined : awsErrorCode(cause);
  }
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_CONSISTENCY_DELAYS_MS = [0, 100, 250, 500, 1000, 2000];
/** CreateTags takes up to 1000 resources; EC2 recommends smaller batches. */
const MAX_TAG_RESOURCES = 200;
/** Duplicate fallbacks per SG before giving up (each round re-reads, so a race settles quickly). */
const MAX_AUTHORIZE_ROUNDS = 3;
const NOT_FOUND_ON_REVOKE = new Set([
  "InvalidSecurityGroupRuleId.NotFound",
  "InvalidGroup.NotFound",
  "InvalidPermission.NotFound",
]);

interface AuthorizeOutcome {
  authorized: AppliedRule[];
  duplicates: string[];
}
interface RevokeOutcome {
  revoked: string[];
  alreadyGone: string[];
}

/** A failure inside one SG's work, carrying what that SG got done before it. */
class GroupStepError<T> extends Error {
  constructor(
    message: string,
    readonly done: T,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

export async function applyRuleChanges(
  client: Ec2Caller,
  changes: RuleChanges,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const ec2 = new CountingEc2(client);
  const result: ApplyResult = {
    authorized: [],
    duplicates: [],
    revoked: [],
    alreadyGone: [],
    adopted: [],
    calls: ec2.calls,
  };
  const problems = checkRuleChanges(changes);
  if (problems.length > 0) throw new ApplyError(`not applying rule changes: ${problems.join("; ")}`, result);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const delays = options.consistencyDelaysMs ?? DEFAULT_CONSISTENCY_DELAYS_MS;
  const ownerTag: Ec2Sdk.Tag = { Key: OWNER_TAG_KEY, Value: changes.ownerId };

  // 1. Adopt: our tag on identical rules someone else made (only when the plan says so).
  for (const batch of chunk(changes.toAdopt, MAX_TAG_RESOURCES)) {
    const ids = batch.map((a) => a.existing.ruleId);
    try {
      await ec2.call("CreateTags", { Resources: ids, Tags: [ownerTag] });
    } catch (err) {
      throw new ApplyError(
        `adopting ${ids.length} rules (${listIds(ids)}): ${describeAwsError(err)}`,
        result,
        err,
      );
    }
    result.adopted.push(...batch.map((a) => ({ key: a.rule.key, ruleId: a.existing.ruleId })));
  }

  // 2. Authorize, SGs in parallel: one call per SG with every new rule.
  const authorizeGroups = [...groupBy(changes.toAuthorize, (r) => r.securityGroupId)];
  const authorized = await mapBounded(authorizeGroups, concurrency, ([groupId, rules]) =>
    authorizeOnGroup(ec2, groupId, rules, changes, ownerTag, delays),
  );
  const authorizeFailures = collect(authorized, (outcome) => {
    result.authorized.push(...outcome.authorized);
    result.duplicates.push(...outcome.duplicates);
  });
  if (authorizeFailures.length > 0) throw failure(authorizeFailures, result);

  // 3. Revoke, only now that every new rule is in place (no window without access).
  const revokeGroups = [...groupBy(changes.toRevoke, (r) => r.groupId)];
  const revoked = await mapBounded(revokeGroups, concurrency, ([groupId, rules]) =>
    revokeOnGroup(ec2, groupId, rules, changes.ownerId),
  );
  const revokeFailures = collect(revoked, (outcome) => {
    result.revoked.push(...outcome.revoked);
    result.alreadyGone.push(...outcome.alreadyGone);
  });
  if (revokeFailures.length > 0) throw failure(revokeFailures, result);
  return result;
}

/** Folds settled per-SG outcomes into the result (also the partial work of failed SGs); returns the failures. */
function collect<T extends AuthorizeOutcome | RevokeOutcome>(
  settled: Array<PromiseSettledResult<T> | undefined>,
  add: (outcome: T) => void,
): unknown[] {
  const failures: unknown[] = [];
  for (const entry of settled) {
    if (entry === undefined) continue; // not started: an earlier SG failed
    if (entry.status === "fulfilled") add(entry.value);
    else {
      if (entry.reason instanceof GroupStepError) add(entry.reason.done as T);
      failures.push(entry.reason);
    }
  }
  return failures;
}

function failure(failures: unknown[], partial: ApplyResult): ApplyError {
  const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
  const first = failures[0];
  const cause = first instanceof GroupStepError ? first.cause : first;
  return new ApplyError(messages.join("; "), partial, cause);
}

async function authorizeOnGroup(
  ec2: CountingEc2,
  groupId: string,
  rules: DesiredRule[],
  changes: RuleChanges,
  ownerTag: Ec2Sdk.Tag,
  delays: readonly number[],
): Promise<AuthorizeOutcome> {
  const done: AuthorizeOutcome = { authorized: [], duplicates: [] };
  const fail = (message: string, cause: unknown) => new GroupStepError(message, done, cause);
  let pending = rules;
  for (let round = 1; pending.length > 0; round++) {
    const what = `authorizing ${pending.length} rules on security group ${groupId}`;
    let response: Ec2Sdk.AuthorizeSecurityGroupIngressCommandOutput;
    try {
      response = await ec2.call("AuthorizeSecurityGroupIngress", {
        GroupId: groupId,
        IpPermissions: buildIpPermissions(pending, changes.description),
        TagSpecifications: [{ ResourceType: "security-group-rule", Tags: [ownerTag] }],
      });
    } catch (err) {
      if (awsErrorCode(err) !== "InvalidPermission.Duplicate" || round >= MAX_AUTHORIZE_ROUNDS)
        throw fail(`${what}: ${describeAwsError(err)}`, err);
      // Some of these rules exist already. EC2 rejects the whole batch (moto keeps the permissions before the
      // duplicate one), so re-read the SG and sort: ours (tagged) count as authorized, foreign ones satisfy the
      // need (Invariant 3), the rest are sent again.
      let existing: ExistingRule[];
      try {
        existing = await describeIngressRules(ec2, [groupId]);
      } catch (readErr) {
        throw fail(
          `${what}: re-reading after InvalidPermission.Duplicate: ${errorMessage(readErr)}`,
          readErr,
        );
      }
      const byIdentity = new Map(existing.map((r) => [ruleIdentity(r), r]));
      const missing: DesiredRule[] = [];
      for (const rule of pending) {
        const found = byIdentity.get(ruleIdentity(rule));
        if (found === undefined) missing.push(rule);
        else if (isOwnedRule(found, changes.ownerId))
          done.authorized.push({ key: rule.key, ruleId: found.ruleId });
        else done.duplicates.push(rule.key);
      }
      pending = missing;
      continue;
    }
    await learnRuleIds(
      ec2,
      groupId,
      pending,
      response.SecurityGroupRules ?? [],
      changes.ownerId,
      delays,
      done,
      fail,
    );
    pending = [];
  }
  return done;
}

/**
 * Learns the sgr- id of each rule just authorized: from the response when it lists them (AWS does), else by
 * re-reading our rules on the SG (moto lists only the last permission's rules), retried briefly because a new
 * rule may not be visible to reads yet.
 */
async function learnRuleIds(
  ec2: CountingEc2,
  groupId: string,
  rules: readonly DesiredRule[],
  fromResponse: readonly Ec2Sdk.SecurityGroupRule[],
  ownerId: string,
  delays: readonly number[],
  done: AuthorizeOutcome,
  fail: (message: string, cause: unknown) => Error,
): Promise<void> {
  const ids = new Map<string, string>();
  const note = (
    rule: { SecurityGroupRuleId?: string | undefined } & Parameters<typeof ruleIdentityOf>[0],
  ) => {
    if (rule.SecurityGroupRuleId) ids.set(ruleIdentityOf(rule), rule.SecurityGroupRuleId);
  };
  fromResponse.forEach(note);
  let missing = rules.filter((r) => !ids.has(ruleIdentity(r)));
  for (const delay of missing.length > 0 ? delays : []) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    let ours: ExistingRule[];
    try {
      ours = await describeIngressRules(
        ec2,
        [groupId],
        [{ Name: `tag:${OWNER_TAG_KEY}`, Values: [ownerId] }],
      );
    } catch (err) {
      recordFound();
      throw fail(
        `authorized ${rules.length} rules on security group ${groupId}, then re-reading them failed: ${errorMessage(err)}`,
        err,
      );
    }
    for (const rule of ours) ids.set(ruleIdentity(rule), rule.ruleId);
    missing = rules.filter((r) => !ids.has(ruleIdentity(r)));
    if (missing.length === 0) break;
  }
  recordFound();
  if (missing.length > 0)
    throw fail(
      `authorized ${rules.length} rules on security group ${groupId} but ${missing.length} of them ` +
        `(${listIds(missing.map((r) => r.key))}) were not visible after ${delays.length} reads; ` +
        `they carry tag ${OWNER_TAG_KEY}=${ownerId}, so the next refresh finds them`,
      undefined,
    );

  function recordFound() {
    for (const rule of rules) {
      const id = ids.get(ruleIdentity(rule));
      if (id !== undefined) done.authorized.push({ key: rule.key, ruleId: id });
    }
  }
}

/** The identity of a rule as an authorize response reports it. */
function ruleIdentityOf(rule: {
  IpProtocol?: string | undefined;
  FromPort?: number | undefined;
  ToPort?: number | undefined;
  ReferencedGroupInfo?: { GroupId?: string | undefined } | undefined;
  CidrIpv4?: string | undefined;
}): string {
  return ruleIdentity({
    protocol: rule.IpProtocol ?? "-1",
    fromPort: rule.FromPort ?? -1,
    toPort: rule.ToPort ?? -1,
    ...(rule.ReferencedGroupInfo?.GroupId ? { sourceSecurityGroupId: rule.ReferencedGroupInfo.GroupId } : {}),
    ...(rule.CidrIpv4 ? { cidr: rule.CidrIpv4 } : {}),
  });
}

async function revokeOnGroup(
  ec2: CountingEc2,
  groupId: string,
  rules: ExistingRule[],
  ownerId: string,
): Promise<RevokeOutcome> {
  const done: RevokeOutcome = { revoked: [], alreadyGone: [] };
  let pending = uniqueSorted(rules.map((r) => r.ruleId));
  for (let round = 1; pending.length > 0; round++) {
    const what = `revoking ${pending.length} rules (${listIds(pending)}) from security group ${groupId}`;
    try {
      await ec2.call("RevokeSecurityGroupIngress", { GroupId: groupId, SecurityGroupRuleIds: pending });
      done.revoked.push(...pending);
      return done;
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === "InvalidGroup.NotFound") {
        // The SG is gone and its rules with it: nothing left to do.
        done.alreadyGone.push(...pending);
        return done;
      }
      if (code === undefined || !NOT_FOUND_ON_REVOKE.has(code) || round >= MAX_AUTHORIZE_ROUNDS)
        throw new GroupStepError(`${what}: ${describeAwsError(err)}`, done, err);
      // One of the ids is gone and EC2 revoked none of them: find which remain and revoke those.
      let present: ExistingRule[];
      try {
        present = await describeIngressRules(ec2, [groupId]);
      } catch (readErr) {
        throw new GroupStepError(
          `${what}: re-reading after ${code}: ${errorMessage(readErr)}`,
          done,
          readErr,
        );
      }
      const byId = new Map(present.map((r) => [r.ruleId, r]));
      const notOurs = pending.filter(
        (id) => byId.has(id) && !isOwnedRule(byId.get(id) as ExistingRule, ownerId),
      );
      if (notOurs.length > 0)
        throw new GroupStepError(
          `${what}: refusing to revoke ${listIds(notOurs)}: no longer tagged ${OWNER_TAG_KEY}=${ownerId}`,
          done,
          undefined,
        );
      done.alreadyGone.push(...pending.filter((id) => !byId.has(id)));
      pending = pending.filter((id) => byId.has(id));
    }
  }
  return done;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
