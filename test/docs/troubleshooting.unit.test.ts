// README's troubleshooting tables cover every message the resource can produce, and name no message that is gone.
// The messages are read from provider/ by test/docs/messages.ts (TypeScript's parser, constants resolved).
// Not proven here: that the causes and fixes are right (reviewed by hand), nor messages built only at run time
// from other parts (sites without literal text pass another message on, and are skipped).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { literalLetters, type MessageSite, messageSites, ROOT } from "./messages";

/** The backticked phrases in the first column of the tables under "## Troubleshooting". */
function troubleshootingPhrases(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Troubleshooting\n");
  assert.ok(start >= 0, "README.md has no Troubleshooting section");
  const next = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const phrases: string[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const firstCell = line.slice(1, line.indexOf(" | ", 1));
    for (const m of firstCell.matchAll(/`([^`]+)`/g)) phrases.push(m[1]!);
  }
  return phrases;
}

const sites = messageSites();
const phrases = troubleshootingPhrases();
// Sites with (almost) no literal text of their own only pass another message on, e.g. validateInputs' helper
// `${property} is ${value}; expected ${expected}`: its callers are the sites that say something.
const described = sites.filter((s) => literalLetters(s.text.replace(/ is |; expected /g, "")) >= 8);
const where = (s: MessageSite) => `${s.file}:${s.line} [${s.kind}] ${s.text}`;

test("the message reader finds the messages of every layer", () => {
  const files = new Set(described.map((s) => s.file));
  for (const f of [
    "provider/inputs.ts",
    "provider/provider.ts",
    "provider/engine.ts",
    "provider/k8s/read.ts",
    "provider/aws/read.ts",
    "provider/aws/apply.ts",
    "provider/aws/rules.ts",
    "provider/domain/decision.ts",
    "provider/domain/ports.ts",
    "provider/domain/scope.ts",
    "provider/domain/destinations.ts",
    "provider/domain/plan.ts",
  ])
    assert.ok(files.has(f), `no message read from ${f}`);
  // constants are resolved: the annotation names appear in the domain's messages
  assert.ok(
    described.some((s) =>
      s.text.includes("annotation alb.ingress.kubernetes.io/manage-backend-security-group-rules is"),
    ),
  );
  assert.ok(described.length >= 100, `only ${described.length} messages read`);
});

test("every message the resource can produce has a row in README's troubleshooting tables", () => {
  const missing = described.filter((s) => !phrases.some((p) => s.text.includes(p))).map(where);
  assert.deepEqual(missing, []);
});

test("every phrase in README's troubleshooting tables still occurs in a message", () => {
  const stale = phrases.filter((p) => !described.some((s) => s.text.includes(p)));
  assert.deepEqual(stale, []);
});
