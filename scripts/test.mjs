#!/usr/bin/env node
// The test command: `npm test` (all stages) or `npm run test:unit|test:integration|test:e2e`.
// Stages run in order and stop at the first failure; the sandbox (moto, kube-apiserver + etcd) is started once
// for the integration and end-to-end stages and shared by their test files (run one file at a time).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const what = process.argv[2] ?? "all";
const totals = { pass: 0, fail: 0, skipped: 0 };
const started = Date.now();

function log(msg) {
  process.stdout.write(`\n== ${msg}\n`);
}

function run(label, cmd, args, env = process.env) {
  const t0 = Date.now();
  log(`${label}: ${cmd} ${args.join(" ")}`);
  const res = spawnSync(cmd, args, { stdio: "inherit", env });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (res.status !== 0) {
    process.stdout.write(`\n${label} FAILED after ${secs}s (exit ${res.status ?? res.signal})\n`);
    summary();
    process.exit(1);
  }
  process.stdout.write(`-- ${label} ok in ${secs}s\n`);
}

const globs = {
  unit: ["test/domain/**/*.test.ts", "test/cli/**/*.test.ts", "test/**/*.unit.test.ts"],
  integration: [
    "test/sandbox/**/*.test.ts",
    "test/aws/**/*.test.ts",
    "test/k8s/**/*.test.ts",
    "test/integration/**/*.test.ts",
    "test/iam/**/*.test.ts",
    "test/faults/**/*.test.ts",
  ],
  e2e: ["test/e2e/**/*.test.ts"],
};

function files(stage) {
  const all = new Set();
  for (const g of globs[stage]) for (const f of fs.globSync(g, { cwd: root })) all.add(f);
  const list = [...all].sort();
  // unit tests never need the sandbox; keep them out of the sandbox stages
  return stage === "unit" ? list : list.filter((f) => !f.endsWith(".unit.test.ts"));
}

function nodeTests(stage, env, concurrency) {
  const list = files(stage);
  if (list.length === 0) {
    log(`${stage}: no test files`);
    return;
  }
  const tap = path.join(os.tmpdir(), `lbc-sg-${stage}-${process.pid}.tap`);
  const args = [
    "--import",
    "tsx",
    "--test",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tap}`,
    ...(concurrency ? [`--test-concurrency=${concurrency}`] : []),
    ...list,
  ];
  try {
    run(`${stage} tests (${list.length} files)`, process.execPath, args, env);
  } finally {
    if (fs.existsSync(tap)) {
      const text = fs.readFileSync(tap, "utf8");
      for (const k of ["pass", "fail", "skipped"]) {
        const m = new RegExp(`^# ${k} (\\d+)$`, "m").exec(text);
        if (m) totals[k] += Number(m[1]);
      }
      fs.rmSync(tap, { force: true });
    }
  }
}

function summary() {
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  process.stdout.write(
    `\n(${what} in ${secs}s)\n${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped\n`,
  );
}

async function withSandbox(fn) {
  const infoFile = path.join(os.tmpdir(), `lbc-sg-sandbox-${process.pid}.json`);
  log("sandbox: building tools on first use, then starting moto and kube-apiserver");
  const child = spawn(process.execPath, ["--import", "tsx", "test/sandbox/cli.ts", "up", infoFile], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ready = await new Promise((resolve) => {
    child.stdout.on("data", (d) => {
      if (String(d).includes("ready")) resolve(true);
    });
    child.once("exit", () => resolve(false));
  });
  if (!ready) {
    process.stdout.write("sandbox FAILED to start\n");
    process.exit(1);
  }
  const stop = () => {
    try {
      child.kill("SIGTERM");
    } catch {}
  };
  process.once("exit", stop);
  try {
    await fn({ ...process.env, LBC_SG_SANDBOX: infoFile });
  } finally {
    stop();
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
  }
}

const npx = (bin) => path.join(root, "node_modules", ".bin", bin);

if (what === "all" || what === "static") {
  // Build first: the demo program and end-to-end tests import the package by name, which resolves to dist/.
  run("build", npx("tsc"), ["-p", "provider"]);
  run("typecheck", npx("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  run("lint and format", npx("biome"), ["check", "."]);
}
if (what === "all" || what === "unit") nodeTests("unit", process.env);
if (what === "all" || what === "integration" || what === "e2e") {
  if (what !== "all") run("build", npx("tsc"), ["-p", "provider"]);
  await withSandbox(async (env) => {
    if (what !== "e2e") nodeTests("integration", env, 1);
    if (what !== "integration") nodeTests("e2e", env, 1);
  });
}
summary();
