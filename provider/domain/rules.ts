import type { ExistingRule, PortMode } from "./model.js";
import { DESCRIPTION_PREFIX, LBC_TGB_TAG_KEY, OWNER_TAG_KEY } from "./model.js";

/** `${sg}|${proto}|${from}-${to}|${sourceSg}`: a rule's identity is never its description (EC2 ignores it too). */
export type RuleKey = string;

export interface PortRange {
  from: number;
  to: number;
}

export const ALL_PORTS: PortRange = { from: 0, to: 65535 };

export function ruleKey(r: {
  securityGroupId: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  sourceSecurityGroupId: string;
}): RuleKey {
  return `${r.securityGroupId}|${r.protocol}|${r.fromPort}-${r.toPort}|${r.sourceSecurityGroupId}`;
}

/** EC2 reports protocols by name or IANA number; we compare by name. */
export function normalizeProtocol(p: string): string {
  const lower = p.toLowerCase();
  if (lower === "6") return "tcp";
  if (lower === "17") return "udp";
  return lower;
}

/** Identity of an existing rule, or undefined when its source is not a security group (never identical to ours). */
export function existingRuleKey(r: ExistingRule): RuleKey | undefined {
  if (r.sourceSecurityGroupId === undefined || r.sourceSecurityGroupId === "") return undefined;
  return ruleKey({
    securityGroupId: r.groupId,
    protocol: normalizeProtocol(r.protocol),
    fromPort: r.fromPort,
    toPort: r.toPort,
    sourceSecurityGroupId: r.sourceSecurityGroupId,
  });
}

/** Ownership is the tag alone: descriptions can be edited by anyone with console access. */
export function isOwnedRule(rule: ExistingRule, ownerId: string): boolean {
  return rule.tags[OWNER_TAG_KEY] === ownerId;
}

/** Owned by some lbc-backend-sg owner other than us: never adopted. */
export function isOtherOwnersRule(rule: ExistingRule, ownerId: string): boolean {
  const tag = rule.tags[OWNER_TAG_KEY];
  return tag !== undefined && tag !== ownerId;
}

/**
 * Made by the LBC itself (its tag or its description marker `elbv2.k8s.aws/targetGroupBinding=shared`): the LBC
 * still manages and revokes it, so it is never adopted — once tagged ours, our delete would revoke it too.
 */
export function isLbcRule(rule: ExistingRule): boolean {
  return (
    rule.tags[LBC_TGB_TAG_KEY] !== undefined || (rule.description ?? "").startsWith(`${LBC_TGB_TAG_KEY}=`)
  );
}

const DESCRIPTION_MAX = 255;
// EC2's allowed characters for security group rule descriptions.
const DESCRIPTION_DISALLOWED = /[^a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]/g;

export function ruleDescription(ownerId: string): string {
  return (DESCRIPTION_PREFIX + ownerId).replace(DESCRIPTION_DISALLOWED, "_").slice(0, DESCRIPTION_MAX);
}

/** One rule per exact port: the least open, the most rules. */
export function exactRanges(ports: readonly number[]): PortRange[] {
  return ports.map((p) => ({ from: p, to: p }));
}

/** Ranges for the LBC-compatible modes: `range` min..max, `all` 0-65535. */
export function wholeRange(ports: readonly number[], mode: Exclude<PortMode, "minimal">): PortRange[] {
  if (ports.length === 0) return [];
  if (mode === "all") return [{ ...ALL_PORTS }];
  return [{ from: ports[0]!, to: ports[ports.length - 1]! }];
}

/**
 * Fits several buckets of sorted, distinct ports (one bucket per protocol/source on one SG) into `budget` rules
 * by merging the smallest gaps first across all buckets. Each merge removes one rule and opens exactly the gap's
 * ports, and merges are independent, so taking the k smallest gaps opens the fewest extra ports possible.
 * Returns undefined when even one range per bucket exceeds the budget.
 */
export function mergeSmallestGaps(
  buckets: readonly (readonly number[])[],
  budget: number,
): PortRange[][] | undefined {
  const total = buckets.reduce((n, b) => n + b.length, 0);
  const nonEmpty = buckets.filter((b) => b.length > 0).length;
  if (nonEmpty > budget) return undefined;
  const merges = total - budget;
  if (merges <= 0) return buckets.map(exactRanges);
  // gap g of bucket b sits between ports[g] and ports[g+1]; ties broken by bucket then position: deterministic.
  const gaps: Array<{ size: number; bucket: number; at: number }> = [];
  buckets.forEach((ports, bucket) => {
    for (let at = 0; at + 1 < ports.length; at++)
      gaps.push({ size: ports[at + 1]! - ports[at]! - 1, bucket, at });
  });
  gaps.sort((a, b) => a.size - b.size || a.bucket - b.bucket || a.at - b.at);
  const merged = buckets.map((b) => new Uint8Array(Math.max(0, b.length - 1)));
  for (let i = 0; i < merges; i++) {
    const g = gaps[i]!;
    merged[g.bucket]![g.at] = 1;
  }
  return buckets.map((ports, bucket) => {
    const out: PortRange[] = [];
    const flags = merged[bucket]!;
    let start = ports[0];
    for (let at = 0; at < ports.length; at++) {
      if (at + 1 < ports.length && flags[at] === 1) continue;
      out.push({ from: start!, to: ports[at]! });
      start = ports[at + 1];
    }
    return out;
  });
}

/** Ports the ranges allow beyond the needed ones. */
export function extraPorts(ranges: readonly PortRange[], needed: readonly number[]): number {
  const width = ranges.reduce((n, r) => n + (r.to - r.from + 1), 0);
  return width - needed.length;
}
