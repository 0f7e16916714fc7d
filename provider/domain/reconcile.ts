// The set difference between the rules we want and the rules that exist, as the LBC's networking manager does it:
// grant what is missing, take over nothing unless asked, and revoke only what carries our ownership tag.

import type { ExistingRule } from "./model.js";
import type { DesiredRule } from "./plan.js";
import { cmp } from "./problems.js";
import {
  existingRuleKey,
  isLbcRule,
  isOtherOwnersRule,
  isOwnedRule,
  type RuleKey,
  ruleKey,
} from "./rules.js";

export interface RuleChangeSet {
  rules: Record<RuleKey, DesiredRule>;
  toAuthorize: DesiredRule[];
  toRevoke: ExistingRule[];
  toAdopt: Array<{ rule: DesiredRule; existing: ExistingRule }>;
  satisfiedByForeign: DesiredRule[];
}

/**
 * Marks each desired rule present / foreign / adopt / authorize against `existing` (ingress rules per SG) and
 * lists our obsolete rules. `desired` is mutated (state, ruleId) and must be sorted by key.
 */
export function reconcileRules(
  desired: DesiredRule[],
  existing: Record<string, ExistingRule[]>,
  ownerId: string,
  adoptExistingRules: boolean,
): RuleChangeSet {
  // Existing rules by identity; an owned twin wins over a foreign one, a foreign one without an owner over
  // another stack's.
  const existingByKey = new Map<string, { owned?: ExistingRule; foreign?: ExistingRule }>();
  for (const sg of Object.keys(existing).sort()) {
    for (const r of existing[sg] ?? []) {
      const k = existingRuleKey(r);
      if (k === undefined) continue;
      const slot = existingByKey.get(k) ?? {};
      if (isOwnedRule(r, ownerId)) slot.owned ??= r;
      else if (slot.foreign === undefined || isOtherOwnersRule(slot.foreign, ownerId)) slot.foreign = r;
      existingByKey.set(k, slot);
    }
  }

  const rules: Record<RuleKey, DesiredRule> = {};
  const toAuthorize: DesiredRule[] = [];
  const toAdopt: Array<{ rule: DesiredRule; existing: ExistingRule }> = [];
  const satisfiedByForeign: DesiredRule[] = [];
  for (const d of desired) {
    const slot = existingByKey.get(d.key);
    if (slot?.owned !== undefined) {
      d.state = "present";
      d.ruleId = slot.owned.ruleId;
    } else if (slot?.foreign !== undefined) {
      d.ruleId = slot.foreign.ruleId;
      if (adoptExistingRules && !isOtherOwnersRule(slot.foreign, ownerId) && !isLbcRule(slot.foreign)) {
        d.state = "adopt";
        toAdopt.push({ rule: d, existing: slot.foreign });
      } else {
        d.state = "foreign";
        satisfiedByForeign.push(d);
      }
    } else {
      d.state = "authorize";
      delete d.ruleId;
      toAuthorize.push(d);
    }
    rules[d.key] = d;
  }

  // Only what carries our tag and is no longer wanted (or is a second copy of a wanted rule); by sgr- id.
  const toRevoke: ExistingRule[] = [];
  for (const sg of Object.keys(existing).sort()) {
    for (const r of existing[sg] ?? []) {
      if (!isOwnedRule(r, ownerId)) continue;
      const k = existingRuleKey(r);
      const keep = k !== undefined && rules[k] !== undefined && rules[k].ruleId === r.ruleId;
      if (!keep) toRevoke.push(r);
    }
  }
  toRevoke.sort((a, b) => cmp(a.groupId, b.groupId) || cmp(a.ruleId, b.ruleId));
  return { rules, toAuthorize, toRevoke, toAdopt, satisfiedByForeign };
}

/** Parses a rule identity back into its parts; undefined when it is not one of ours (`sg|proto|from-to|sg`). */
export function parseRuleKey(
  key: string,
): Omit<DesiredRule, "ports" | "neededBy" | "state" | "key"> | undefined {
  const m = /^(sg-[0-9a-zA-Z]+)\|(tcp|udp)\|(\d{1,5})-(\d{1,5})\|(sg-[0-9a-zA-Z]+)$/.exec(key);
  if (!m) return undefined;
  const fromPort = Number(m[3]);
  const toPort = Number(m[4]);
  if (fromPort > toPort || toPort > 65535) return undefined;
  const parsed = {
    securityGroupId: m[1]!,
    protocol: m[2] as "tcp" | "udp",
    fromPort,
    toPort,
    sourceSecurityGroupId: m[5]!,
  };
  return ruleKey(parsed) === key ? parsed : undefined;
}

/** Desired rules rebuilt from the identities (and the objects needing them) recorded at check time. */
export function desiredRulesFromKeys(desiredRules: Record<string, string>): DesiredRule[] {
  const out: DesiredRule[] = [];
  for (const key of Object.keys(desiredRules).sort()) {
    const parsed = parseRuleKey(key);
    if (parsed === undefined) continue;
    const neededBy = (desiredRules[key] ?? "")
      .split(", ")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const ports: number[] = [];
    // Exact ports are only known for single-port rules; ranges keep their bounds.
    if (parsed.fromPort === parsed.toPort) ports.push(parsed.fromPort);
    out.push({ key, ...parsed, ports, neededBy, state: "authorize" });
  }
  return out;
}
