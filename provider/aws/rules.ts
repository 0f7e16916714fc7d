// Pure helpers of the EC2 adapter: no AWS calls here, so they are unit-tested without moto.

import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import { type ExistingRule, OWNER_TAG_KEY } from "../domain/model";
import { isOwnedRule } from "../domain/rules";
import type { DesiredRule } from "./types";

/** EC2 accepts at most 200 values per filter. */
export const MAX_FILTER_VALUES = 200;
/** DescribeInstances accepts at most 1000 instance ids per request. */
export const MAX_INSTANCE_IDS = 1000;
/** Largest page EC2 serves for the describes we paginate. */
export const MAX_PAGE_SIZE = 1000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Sorted, without duplicates and empty strings: stable requests and call counts whatever the input order. */
export function uniqueSorted(items: Iterable<string>): string[] {
  return [...new Set([...items].filter((s) => s !== ""))].sort();
}

export function tagRecord(tags: readonly Ec2Sdk.Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? "";
  return out;
}

/**
 * An EC2 security group rule as our ExistingRule, or undefined for egress rules and rules EC2 returned without
 * the ids we need. Ports of "-1" (all protocols) rules are reported by EC2 as -1/-1 and kept as such.
 */
export function toExistingRule(rule: Ec2Sdk.SecurityGroupRule): ExistingRule | undefined {
  if (rule.IsEgress !== false) return undefined;
  if (rule.SecurityGroupRuleId === undefined || rule.GroupId === undefined) return undefined;
  const out: ExistingRule = {
    ruleId: rule.SecurityGroupRuleId,
    groupId: rule.GroupId,
    // EC2 reports protocol names in lower case ("tcp"), "-1" for all, a number for the others.
    protocol: (rule.IpProtocol ?? "-1").toLowerCase(),
    fromPort: rule.FromPort ?? -1,
    toPort: rule.ToPort ?? -1,
    tags: tagRecord(rule.Tags),
  };
  const source = rule.ReferencedGroupInfo?.GroupId;
  if (source !== undefined) out.sourceSecurityGroupId = source;
  const cidr = rule.CidrIpv4 ?? rule.CidrIpv6;
  if (cidr !== undefined) out.cidr = cidr;
  if (rule.PrefixListId !== undefined) out.prefixListId = rule.PrefixListId;
  if (rule.Description !== undefined && rule.Description !== "") out.description = rule.Description;
  return out;
}

/**
 * A rule's identity as EC2 judges duplicates: protocol, ports and the one source; never the description.
 * Only security-group sources matter here, since we only ever create those (Invariant 7).
 */
export function ruleIdentity(rule: {
  protocol: string;
  fromPort: number;
  toPort: number;
  sourceSecurityGroupId?: string;
  cidr?: string;
  prefixListId?: string;
}): string {
  const source = rule.sourceSecurityGroupId ?? rule.cidr ?? rule.prefixListId ?? "?";
  return `${rule.protocol.toLowerCase()}|${rule.fromPort}-${rule.toPort}|${source}`;
}

/** Groups items by a key, keys in sorted order (so SGs are processed in a stable order). */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The IpPermissions of one AuthorizeSecurityGroupIngress: one permission per rule, each with exactly one source,
 * the backend SG, as the LBC does (a permission with several sources would be several rules anyway).
 */
export function buildIpPermissions(
  rules: readonly DesiredRule[],
  description: string,
): Ec2Sdk.IpPermission[] {
  return rules.map((rule) => ({
    IpProtocol: rule.protocol,
    FromPort: rule.fromPort,
    ToPort: rule.toPort,
    UserIdGroupPairs: [{ GroupId: rule.sourceSecurityGroupId, Description: description }],
  }));
}

/** Problems that make a change set unsafe to apply; checked before any call so a refusal changes nothing. */
export function checkRuleChanges(changes: {
  toAuthorize: readonly DesiredRule[];
  toRevoke: readonly ExistingRule[];
  toAdopt: ReadonlyArray<{ rule: DesiredRule; existing: ExistingRule }>;
  ownerId: string;
  description?: string;
}): string[] {
  const problems: string[] = [];
  if (changes.ownerId === "")
    problems.push("ownerId is empty; every rule we create or revoke is marked by it");
  // EC2 would reject the whole batch; saying so first names the value and what is valid.
  if (changes.description !== undefined && !DESCRIPTION_PATTERN.test(changes.description))
    problems.push(
      `description ${JSON.stringify(changes.description)} is not a valid rule description; ` +
        "expected at most 255 of a-z A-Z 0-9 . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * and space",
    );
  const seen = new Set<string>();
  for (const rule of changes.toAuthorize) {
    // EC2 rejects a batch naming the same rule twice, and retrying would not help: a planner bug, said plainly.
    const identity = `${rule.securityGroupId} ${ruleIdentity(rule)}`;
    if (seen.has(identity)) problems.push(`rule ${rule.key}: ${identity} is asked for twice`);
    seen.add(identity);
    // Invariant 7: only ever a security group reference as the source, only the computed ports.
    if (!rule.sourceSecurityGroupId.startsWith("sg-"))
      problems.push(
        `rule ${rule.key}: source ${JSON.stringify(rule.sourceSecurityGroupId)} is not a security group id (sg-…)`,
      );
    if (!validPortRange(rule.fromPort, rule.toPort))
      problems.push(
        `rule ${rule.key}: ports ${rule.fromPort}-${rule.toPort}; expected 0 <= from <= to <= 65535`,
      );
  }
  for (const rule of changes.toRevoke) {
    // Invariant 1: a rule without our tag is never revoked, whatever the plan says.
    if (!isOwnedRule(rule, changes.ownerId))
      problems.push(
        `refusing to revoke ${rule.ruleId} on ${rule.groupId}: it does not carry tag ${OWNER_TAG_KEY}=${changes.ownerId} (${describeOwner(rule)})`,
      );
  }
  for (const { rule, existing } of changes.toAdopt) {
    const owner = existing.tags[OWNER_TAG_KEY];
    if (owner !== undefined && owner !== changes.ownerId)
      problems.push(
        `refusing to adopt ${existing.ruleId} on ${existing.groupId} for ${rule.key}: it is owned by ${owner}`,
      );
    if (existing.groupId !== rule.securityGroupId || ruleIdentity(existing) !== ruleIdentity(rule))
      problems.push(
        `refusing to adopt ${existing.ruleId} for ${rule.key}: it is ${existing.groupId} ${ruleIdentity(existing)}, not ${rule.securityGroupId} ${ruleIdentity(rule)}`,
      );
  }
  return problems;
}

/** What EC2 accepts in a rule description: at most 255 of these characters. */
const DESCRIPTION_PATTERN = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

function validPortRange(from: number, to: number): boolean {
  return Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= 65535;
}

function describeOwner(rule: ExistingRule): string {
  const owner = rule.tags[OWNER_TAG_KEY];
  return owner === undefined ? "it has no owner tag" : `its owner is ${owner}`;
}

/** The 32-bit value of a dotted IPv4 address, or undefined when it is not one. */
export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Whether an IPv4 address lies in a CIDR block such as 10.0.1.16/28. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const address = ipv4ToNumber(ip);
  const network = base === undefined ? undefined : ipv4ToNumber(base);
  if (address === undefined || network === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32)
    return false;
  const size = 2 ** (32 - bits);
  return Math.floor(address / size) === Math.floor(network / size);
}

/** "a, b, c and 7 more": ids in messages without flooding them. */
export function listIds(ids: readonly string[], max = 5): string {
  if (ids.length <= max) return ids.join(", ");
  return `${ids.slice(0, max).join(", ")} and ${ids.length - max} more`;
}

/**
 * Runs `task` over items with at most `limit` in flight. After the first failure no new item starts (the ones
 * in flight finish), so a caller can report exactly what was done. Results keep the items' order.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<Array<PromiseSettledResult<R> | undefined>> {
  const results: Array<PromiseSettledResult<R> | undefined> = new Array(items.length).fill(undefined);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = { status: "fulfilled", value: await task(items[index] as T) };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
