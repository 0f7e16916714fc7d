// Turns `pulumi preview --json` into a Markdown summary of the backend rule changes, for a pull request's job
// summary: one table per BackendSecurityGroupRules resource, one row per rule added or removed, with the objects
// that need it; plus the objects that start or stop being skipped.
//
//   pulumi preview --json > preview.json
//   node scripts/rule-plan-summary.ts preview.json >> "$GITHUB_STEP_SUMMARY"
//
// Runs on Node 24 as is (type stripping): no dependencies, erasable TypeScript only.
import * as fs from "node:fs";

/** The parts of Pulumi's preview JSON (apitype PreviewDigest) this script reads. */
export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
  newState?: { type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
}

export interface PreviewDigest {
  steps?: PreviewStep[];
  changeSummary?: Record<string, number>;
}

export interface RuleRow {
  change: "add" | "remove";
  securityGroupId: string;
  protocol: string;
  ports: string;
  source: string;
  neededBy: string;
}

const RESOURCE_TYPE = "lbc-backend-sg:BackendSecurityGroupRules";
/** How the engine marks a value that is not known yet during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === "string" ? x : JSON.stringify(x);
  return out;
}

/** `<sg>|<proto>|<from>-<to>|<source>` -> its parts; ports print as `8080` or `30000-30100`. */
export function parseRuleKey(key: string): Omit<RuleRow, "change" | "neededBy"> {
  const [securityGroupId = key, protocol = "?", range = "?", source = "?"] = key.split("|");
  const [from, to] = range.split("-");
  return { securityGroupId, protocol, ports: from === to ? (from ?? range) : range, source };
}

/** The rule rows that differ between two desiredRules maps, removals first, each group sorted by key. */
export function diffRules(before: Record<string, string>, after: Record<string, string>): RuleRow[] {
  const rows: RuleRow[] = [];
  for (const key of Object.keys(before).sort())
    if (!(key in after)) rows.push({ change: "remove", ...parseRuleKey(key), neededBy: before[key] ?? "" });
  for (const key of Object.keys(after).sort())
    if (!(key in before)) rows.push({ change: "add", ...parseRuleKey(key), neededBy: after[key] ?? "" });
  return rows;
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function isOurs(step: PreviewStep): boolean {
  // the dynamic resource's type is pulumi-nodejs:dynamic/lbc-backend-sg:BackendSecurityGroupRules
  return (step.newState?.type ?? step.oldState?.type ?? step.urn).includes(RESOURCE_TYPE);
}

function resourceName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The whole Markdown summary. */
export function summarizePreview(digest: PreviewDigest): string {
  const out: string[] = ["## Backend security group rules", ""];
  const steps = (digest.steps ?? []).filter(isOurs);
  if (steps.length === 0) {
    out.push("No BackendSecurityGroupRules resource in this preview.");
    return `${out.join("\n")}\n`;
  }
  for (const step of steps) {
    const name = resourceName(step.urn);
    const rawAfter = step.op === "delete" ? {} : step.newState?.inputs?.desiredRules;
    const before =
      stringMap(step.oldState?.inputs?.desiredRules) ?? stringMap(step.oldState?.outputs?.desiredRules) ?? {};
    out.push(`### \`${name}\` (${step.op})`, "");
    if (rawAfter === UNKNOWN) {
      out.push(
        "The rules are computed when the cluster exists (its inputs are not known yet in this preview).",
        "",
      );
      continue;
    }
    const after = stringMap(rawAfter) ?? {};
    const rows = diffRules(before, after);
    const added = rows.filter((r) => r.change === "add").length;
    out.push(
      `${added} to add, ${rows.length - added} to remove, ${Object.keys(after).length} rules in total after this change.`,
      "",
    );
    if (rows.length > 0) {
      out.push("| | security group | protocol | ports | source | needed by |", "|---|---|---|---|---|---|");
      for (const r of rows)
        out.push(
          `| ${r.change === "add" ? "➕ add" : "➖ remove"} | ${cell(r.securityGroupId)} | ${cell(r.protocol)} | ${cell(r.ports)} | ${cell(r.source)} | ${cell(r.neededBy)} |`,
        );
      out.push("");
    }
    const skippedBefore = stringMap(step.oldState?.inputs?.skippedObjects) ?? {};
    const skippedAfter = stringMap(step.newState?.inputs?.skippedObjects) ?? {};
    const skipChanges = [
      ...Object.keys(skippedAfter)
        .filter((k) => skippedBefore[k] !== skippedAfter[k])
        .sort()
        .map((k) => `| now skipped | ${cell(k)} | ${cell(skippedAfter[k] ?? "")} |`),
      ...Object.keys(skippedBefore)
        .filter((k) => !(k in skippedAfter))
        .sort()
        .map((k) => `| no longer skipped | ${cell(k)} | ${cell(skippedBefore[k] ?? "")} |`),
    ];
    if (skipChanges.length > 0) out.push("| | object | reason |", "|---|---|---|", ...skipChanges, "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

// CLI: node scripts/rule-plan-summary.ts <preview.json>
if (process.argv[1]?.endsWith("rule-plan-summary.ts")) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write("usage: node scripts/rule-plan-summary.ts <pulumi preview --json output>\n");
    process.exit(2);
  }
  const digest = JSON.parse(fs.readFileSync(file, "utf8")) as PreviewDigest;
  process.stdout.write(summarizePreview(digest));
}
