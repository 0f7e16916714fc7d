// Benchmark: one Service added to a large seeded cluster (default 5,000 Ingresses + Services) whose rules are
// already applied: preview time (readAndPlan) and the mutating EC2 calls of the update that follows
// (applyDesiredRules), through the throttling proxy. Each added Service is an NLB with instance targets: one new
// NodePort needed on every node SG. Run: npm run bench -- incremental
//
// At this size every node SG is at its rule budget (minimal mode merges ports into ranges to fit the quota), so:
// - "allocated nodePort": the apiserver's random NodePort usually falls inside an existing range: no rule change;
// - "nodePort in a gap": a NodePort chosen in the widest gap between our ranges forces the ranges to change.
// Phase 1 uses the default ruleQuota (60, also moto's hard limit); phase 2 starts over with ruleQuota 58, leaving
// room for the add-before-remove step.
import { performance } from "node:perf_hooks";
import {
  applyDesiredRules,
  desiredRulesOf,
  PartialApplyError,
  type ProviderEnv,
  readAndPlan,
  revokeAllOwned,
} from "../../provider/engine";
import type {
  BackendSecurityGroupRulesInputs,
  BackendSecurityGroupRulesOutputs,
} from "../../provider/inputs";
import { type Ec2Proxy, startEc2Proxy } from "../sandbox/ec2-proxy";
import { type Sandbox, startSandbox } from "../sandbox/sandbox";
import { kubeconfigOf, previewInputs, reseed } from "./cluster";
import {
  awsEnv,
  type BenchResult,
  fmtStats,
  log,
  newResult,
  runsFromEnv,
  stats,
  sumValues,
  writeResult,
} from "./common";

const MUTATING = ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags"];

interface AddRun {
  variant: string;
  service: string;
  nodePort: number;
  previewMs: number;
  previewEc2Calls: Record<string, number>;
  rulesAdded: number;
  rulesRemoved: number;
  addedKeys: string[];
  removedKeys: string[];
  authorizeSgs: number;
  revokeSgs: number;
  updateMs: number;
  updateCalls: Record<string, number>;
  mutatingCalls: Record<string, number>;
  proxyCounts: Record<string, number>;
  error?: string;
}

interface Ctx {
  sandbox: Sandbox;
  proxy: Ec2Proxy;
  env: ProviderEnv;
  inputs: BackendSecurityGroupRulesInputs;
  previous: BackendSecurityGroupRulesOutputs;
  serial: number;
}

async function createService(ctx: Ctx, name: string, nodePort: number | undefined): Promise<number> {
  const res = await ctx.sandbox.kubeRequest("POST", "/api/v1/namespaces/bench-000/services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: "bench-000",
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance" },
    },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "service.k8s.aws/nlb",
      ports: [
        { name: "main", port: 80, targetPort: 8080, protocol: "TCP", ...(nodePort ? { nodePort } : {}) },
      ],
    },
  });
  if (res.status === 422) return -1; // NodePort taken
  if (res.status !== 201) throw new Error(`creating Service ${name}: HTTP ${res.status}`);
  return (res.body as { spec: { ports: Array<{ nodePort: number }> } }).spec.ports[0]!.nodePort;
}

/** A NodePort in the widest gap between our TCP ranges on the first node SG: no existing rule covers it. */
function uncoveredNodePort(previous: BackendSecurityGroupRulesOutputs): number {
  const bySg: Record<string, Array<[number, number]>> = {};
  for (const r of Object.values(previous.rules))
    if (r.protocol === "tcp" && r.toPort >= 30000) {
      const list = bySg[r.securityGroupId] ?? [];
      list.push([r.fromPort, r.toPort]);
      bySg[r.securityGroupId] = list;
    }
  const ranges = (Object.values(bySg)[0] ?? []).sort((a, b) => a[0] - b[0]);
  let best: [number, number] = [30000, 30000];
  let prevEnd = 29999;
  for (const [from, to] of [...ranges, [32768, 32768] as [number, number]]) {
    if (from - prevEnd - 1 > best[1] - best[0]) best = [prevEnd + 1, from - 1];
    prevEnd = Math.max(prevEnd, to);
  }
  return Math.floor((best[0] + best[1]) / 2);
}

/** Adds one Service, previews, updates; an update failure is recorded (with what was applied), not thrown. */
async function addOne(ctx: Ctx, variant: "allocated nodePort" | "nodePort in a gap"): Promise<AddRun> {
  const name = `svc-added-${ctx.serial++}`;
  let nodePort = -1;
  if (variant === "allocated nodePort") nodePort = await createService(ctx, name, undefined);
  else
    for (let port = uncoveredNodePort(ctx.previous), tries = 0; nodePort < 0 && tries < 50; port++, tries++)
      nodePort = await createService(ctx, name, port);
  if (nodePort < 0) throw new Error(`no free NodePort for ${name}`);

  let s = performance.now();
  const run = await readAndPlan(ctx.inputs, ctx.env, ctx.previous.desiredRules ?? {});
  const previewMs = performance.now() - s;
  const desired = desiredRulesOf(run.plan);
  const before = ctx.previous.desiredRules ?? {};
  const addedKeys = Object.keys(desired).filter((k) => !(k in before));
  const removedKeys = Object.keys(before).filter((k) => !(k in desired));

  ctx.proxy.configure({ throttling: true });
  ctx.proxy.resetCounts();
  s = performance.now();
  let updateCalls: Record<string, number> = {};
  let authorizeSgs = 0;
  let revokeSgs = 0;
  let error: string | undefined;
  try {
    const updated = await applyDesiredRules(
      ctx.inputs.ownerId,
      { ...ctx.inputs, desiredRules: desired },
      ctx.previous,
      ctx.env,
      ctx.previous.sourceSecurityGroupId,
    );
    ctx.previous = updated.outputs;
    updateCalls = updated.applied.calls;
    authorizeSgs = new Set(updated.changes.toAuthorize.map((r) => r.securityGroupId)).size;
    revokeSgs = new Set(updated.changes.toRevoke.map((r) => r.groupId)).size;
  } catch (err) {
    if (!(err instanceof PartialApplyError)) throw err;
    error = err.message;
    ctx.previous = err.properties;
    updateCalls = ctx.proxy.counts();
  }
  const updateMs = performance.now() - s;
  const mutatingCalls = Object.fromEntries(
    MUTATING.filter((a) => updateCalls[a]).map((a) => [a, updateCalls[a]!]),
  );
  const out: AddRun = {
    variant,
    service: `bench-000/${name}`,
    nodePort,
    previewMs,
    previewEc2Calls: run.ec2Calls,
    rulesAdded: addedKeys.length,
    rulesRemoved: removedKeys.length,
    addedKeys,
    removedKeys,
    authorizeSgs,
    revokeSgs,
    updateMs,
    updateCalls,
    mutatingCalls,
    proxyCounts: ctx.proxy.counts(),
    ...(error ? { error } : {}),
  };
  log(
    `    +1 Service (${variant}) nodePort ${nodePort}: preview ${previewMs.toFixed(0)} ms; +${addedKeys.length}/-${removedKeys.length} rules; update ${updateMs.toFixed(0)} ms, mutating ${JSON.stringify(mutatingCalls)}, calls ${JSON.stringify(updateCalls)}${error ? `; FAILED: ${error.slice(0, 160)}` : ""}`,
  );
  return out;
}

/** Creates the rules for the cluster as it is (the first `pulumi up`), then times a no-change preview. */
async function createAll(ctx: Ctx, runs: number) {
  let t0 = performance.now();
  const first = await readAndPlan(ctx.inputs, ctx.env);
  const firstPreviewMs = performance.now() - t0;
  ctx.proxy.configure({ throttling: true });
  t0 = performance.now();
  const created = await applyDesiredRules(
    ctx.inputs.ownerId,
    { ...ctx.inputs, desiredRules: desiredRulesOf(first.plan) },
    undefined,
    ctx.env,
    first.sourceSecurityGroupId,
  );
  const createMs = performance.now() - t0;
  ctx.previous = created.outputs;
  log(
    `    create: preview ${firstPreviewMs.toFixed(0)} ms, apply ${createMs.toFixed(0)} ms: ${created.outputs.counts.rules} rules, calls ${JSON.stringify(created.applied.calls)}`,
  );
  const noop: number[] = [];
  let noopCalls: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const run = await readAndPlan(ctx.inputs, ctx.env, ctx.previous.desiredRules ?? {});
    noop.push(performance.now() - s);
    noopCalls = run.ec2Calls;
    if (JSON.stringify(desiredRulesOf(run.plan)) !== JSON.stringify(ctx.previous.desiredRules))
      throw new Error("a preview with nothing changed planned different rules");
  }
  return {
    firstPreviewMs,
    createMs,
    createCalls: created.applied.calls,
    rules: created.outputs.counts.rules,
    noop: stats(noop),
    noopCalls,
  };
}

function addRows(result: BenchResult, phase: string, runs: AddRun[]): void {
  for (const variant of ["allocated nodePort", "nodePort in a gap"]) {
    const these = runs.filter((r) => r.variant === variant);
    if (these.length === 0) continue;
    const p = stats(these.map((r) => r.previewMs));
    const u = stats(these.map((r) => r.updateMs));
    const extra = {
      "rules +/-": these.map((r) => `+${r.rulesAdded}/-${r.rulesRemoved}`).join(" "),
      "mutating calls": these.map((r) => (r.error ? "FAILED" : sumValues(r.mutatingCalls))).join(" "),
    };
    log(`  ${phase}, +1 Service (${variant}): preview ${fmtStats(p)}; update ${fmtStats(u)}`);
    result.rows.push(
      {
        label: `incremental ${phase}: preview +1 Service (${variant})`,
        median: p.median,
        min: p.min,
        max: p.max,
        runs: p.runs,
        unit: "ms",
        extra,
      },
      {
        label: `incremental ${phase}: update +1 Service (${variant})`,
        median: u.median,
        min: u.min,
        max: u.max,
        runs: u.runs,
        unit: "ms",
        extra,
      },
    );
  }
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_INCREMENTAL_N ?? 5000);
  const runs = runsFromEnv(5);
  const result = newResult("incremental");
  log(`incremental: one Service added at a time to a ${n}-object cluster; ${runs} runs per variant`);
  const sandbox = await startSandbox();
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, throttling: true });
  Object.assign(process.env, awsEnv(proxy.url, sandbox.info.region));
  const env: ProviderEnv = { endpoint: proxy.url, region: sandbox.info.region };
  const phases: Record<string, unknown> = {};
  const allRuns: AddRun[] = [];
  try {
    const { seeded, ms: seedMs } = await reseed(sandbox, n);
    log(
      `  seeded ${seeded.counts.ingresses} Ingresses, ${seeded.counts.services} Services in ${(seedMs / 1000).toFixed(1)} s`,
    );
    const kubeconfig = kubeconfigOf(sandbox);
    for (const quota of [60, 58]) {
      const phase = `N=${n} ruleQuota ${quota}`;
      log(`  phase: ${phase}`);
      const inputs = { ...previewInputs(kubeconfig, `bench/incremental-q${quota}`), ruleQuota: quota };
      const ctx: Ctx = {
        sandbox,
        proxy,
        env,
        inputs,
        previous: undefined as unknown as BackendSecurityGroupRulesOutputs,
        serial: quota * 1000,
      };
      const created = await createAll(ctx, runs);
      result.rows.push({
        label: `incremental ${phase}: preview, no change`,
        median: created.noop.median,
        min: created.noop.min,
        max: created.noop.max,
        runs: created.noop.runs,
        unit: "ms",
        extra: { "EC2 calls": sumValues(created.noopCalls) },
      });
      const added: AddRun[] = [];
      // The default quota's gap case fails (see the report); once is enough to show it.
      for (let i = 0; i < runs; i++) added.push(await addOne(ctx, "allocated nodePort"));
      for (let i = 0; i < (quota === 60 ? 1 : runs); i++) added.push(await addOne(ctx, "nodePort in a gap"));
      addRows(result, phase, added);
      allRuns.push(...added);
      phases[phase] = { ...created, added };
      // Leave EC2 as we found it for the next phase: revoke every rule this owner has.
      await revokeAllOwned(ctx.previous, env);
    }
    result.details = { n, seedMs, phases };
  } finally {
    await proxy.close();
    await sandbox.stop();
  }
  const ok = allRuns.filter((e) => !e.error);
  const oneEach = ok.every(
    (e) =>
      (e.mutatingCalls.AuthorizeSecurityGroupIngress ?? 0) === e.authorizeSgs &&
      (e.mutatingCalls.RevokeSecurityGroupIngress ?? 0) === e.revokeSgs,
  );
  const failed = allRuns.filter((e) => e.error);
  result.targets["incremental: one Authorize (and at most one Revoke) per affected SG"] =
    `${oneEach && failed.length === 0 ? "met" : "missed"}: ${ok
      .filter((e) => e.rulesAdded + e.rulesRemoved > 0)
      .map(
        (e) =>
          `${e.mutatingCalls.AuthorizeSecurityGroupIngress ?? 0} Authorize on ${e.authorizeSgs} SGs + ${e.mutatingCalls.RevokeSecurityGroupIngress ?? 0} Revoke on ${e.revokeSgs}`,
      )
      .join(
        "; ",
      )}${failed.length ? `; ${failed.length} update(s) FAILED: ${failed[0]!.error!.slice(0, 200)}` : ""}`;
  log(`wrote ${writeResult(result)}`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
