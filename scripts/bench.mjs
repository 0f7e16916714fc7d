#!/usr/bin/env node
// `npm run bench [-- name ...]`: the benchmark suite (not tests: figures are printed, never asserted).
// Names: plan, preview, apply, incremental, cli (default: all, in that order). Each benchmark runs in its own
// process and writes bench-results/<name>.json; this driver then writes bench-results/summary.md (a Markdown
// table of every result present) and bench-results/results.json, and prints the table.
// Knobs (environment): BENCH_RUNS (runs per figure), BENCH_PREVIEW_SIZES (e.g. 500,2000,4000,5000),
// BENCH_INCREMENTAL_N, BENCH_APPLY_SGS / BENCH_APPLY_PER_SG, BENCH_APPLY_PEER_RUNS, BENCH_CLI_SIZES,
// BENCH_CLI_PEER_RUNS. See test/bench/README.md.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const ALL = ["plan", "preview", "apply", "incremental", "cli"];
const asked = process.argv.slice(2);
const unknown = asked.filter((n) => !ALL.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; choose from ${ALL.join(", ")}\n`);
  process.exit(2);
}
const names = asked.length > 0 ? ALL.filter((n) => asked.includes(n)) : ALL;
const resultsDir = path.join(root, "bench-results");
fs.mkdirSync(resultsDir, { recursive: true });
const started = Date.now();
const elapsed = {};
const failed = [];

if (names.includes("cli")) {
  // The resource loads its provider from dist/ inside Pulumi's dynamic-provider process.
  const b = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], {
    stdio: "inherit",
  });
  if (b.status !== 0) process.exit(1);
}

for (const name of names) {
  process.stdout.write(`\n== bench ${name}\n`);
  const t0 = Date.now();
  const res = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join("test", "bench", `${name}.bench.ts`)],
    {
      stdio: "inherit",
      env: process.env,
    },
  );
  elapsed[name] = (Date.now() - t0) / 1000;
  process.stdout.write(
    `-- ${name} ${res.status === 0 ? "done" : "FAILED"} in ${elapsed[name].toFixed(0)} s\n`,
  );
  if (res.status !== 0) failed.push(name);
}

// ---- summary of every result file present (this run's and earlier ones') ----
const results = ALL.map((n) => path.join(resultsDir, `${n}.json`))
  .filter((f) => fs.existsSync(f))
  .map((f) => JSON.parse(fs.readFileSync(f, "utf8")));

const fmt = (v, unit) => {
  if (unit !== "ms") return `${Math.round(v * 10) / 10} ${unit}`;
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
};
const cell = (s) => String(s).replaceAll("|", "\\|");
const lines = [
  `# Benchmarks (${new Date().toISOString()}, node ${process.version})`,
  "",
  "Each figure: median of the runs, with min and max; ratios are measured in the same run. Command: `npm run bench [-- name]`.",
  "",
  "| benchmark | median | min | max | runs | details |",
  "|---|---:|---:|---:|---:|---|",
];
for (const r of results)
  for (const row of r.rows)
    lines.push(
      `| ${cell(row.label)} | ${fmt(row.median, row.unit)} | ${fmt(row.min, row.unit)} | ${fmt(row.max, row.unit)} | ${row.runs} | ${cell(
        Object.entries(row.extra ?? {})
          .map(([k, v]) => `${k}: ${v}`)
          .join("; "),
      )} |`,
    );
lines.push("", "## Targets", "", "| target | where we land |", "|---|---|");
for (const r of results)
  for (const [t, v] of Object.entries(r.targets)) lines.push(`| ${cell(t)} | ${cell(v)} |`);
lines.push("", "## Notes", "");
for (const r of results) for (const n of r.notes) lines.push(`- ${r.name}: ${n}`);
lines.push("", `Result files: ${results.map((r) => `${r.name} (${r.startedAt})`).join(", ")}`);
const md = `${lines.join("\n")}\n`;
fs.writeFileSync(path.join(resultsDir, "summary.md"), md);
fs.writeFileSync(path.join(resultsDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\n${md}`);
process.stdout.write(
  `\nbench: ${names.join(", ")} in ${((Date.now() - started) / 1000).toFixed(0)} s (${Object.entries(elapsed)
    .map(([n, s]) => `${n} ${s.toFixed(0)} s`)
    .join(", ")}); results in bench-results/\n`,
);
if (failed.length > 0) {
  process.stdout.write(`FAILED: ${failed.join(", ")}\n`);
  process.exit(1);
}
