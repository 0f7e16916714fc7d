// Benchmark: preview = readAndPlan (cluster read + EC2 read + plan) against the sandbox, at several sizes, with
// EC2 reached through the throttling proxy (EC2's token buckets). Each size runs in a fresh worker process so its
// peak RSS is that of a provider process doing only this. Run: npm run bench -- preview
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createEc2Client } from "../../provider/aws/client";
import { readEc2Snapshot } from "../../provider/aws/read";
import { computeEc2Needs, planRules } from "../../provider/domain/plan";
import { type ProviderEnv, readAndPlan } from "../../provider/engine";
import { toPlanOptions } from "../../provider/inputs";
import { readClusterSnapshot } from "../../provider/k8s/read";
import { startEc2Proxy } from "../sandbox/ec2-proxy";
import { startSandbox } from "../sandbox/sandbox";
import { seedScenario } from "../sandbox/seed";
import { BENCH_CLUSTER, benchScenario, kubeconfigOf, previewInputs } from "./cluster";
import {
  awsEnv,
  fmtStats,
  log,
  newResult,
  ratio,
  runsFromEnv,
  type Stats,
  sleep,
  stats,
  sumValues,
  withPeakRss,
  writeResult,
} from "./common";

const SETTLE_MS = 3000;

interface WorkerOut {
  total: Stats;
  clusterRead: Stats;
  ec2Read: Stats;
  idleRssMb: number;
  snapshotJsonNoManagedFieldsMb: number;
  plan: Stats;
  firstRunMs: number;
  k8sRequests: Record<string, number>;
  objectsPerKind: Record<string, number>;
  ec2Calls: Record<string, number>;
  rules: number;
  rulesBySg: Record<string, number>;
  skipped: number;
  problems: number;
  peakRssMb: number;
  maxRssMb: number;
  snapshotJsonMb: number;
}

/** Worker: one size, warm-up then `runs` timed readAndPlan calls, then the cluster read and the plan alone. */
async function worker(): Promise<void> {
  const runs = runsFromEnv(5);
  const inputs = previewInputs(process.env.BENCH_KUBECONFIG ?? "");
  const env: ProviderEnv = { endpoint: process.env.AWS_ENDPOINT_URL_EC2!, region: process.env.AWS_REGION! };
  const idleRssMb = process.memoryUsage().rss / 1024 / 1024;
  const t0 = performance.now();
  let last = await readAndPlan(inputs, env);
  const firstRunMs = performance.now() - t0;
  const times: number[] = [];
  let peakMb = 0;
  for (let i = 0; i < runs; i++) {
    const { value, peakMb: p } = await withPeakRss(async () => {
      const s = performance.now();
      const run = await readAndPlan(inputs, env);
      times.push(performance.now() - s);
      return run;
    });
    last = value;
    peakMb = Math.max(peakMb, p);
  }
  // Phases alone: the cluster read, and the plan on snapshots already read (EC2 read = the rest).
  const readTimes: number[] = [];
  let cluster = await readClusterSnapshot(inputs.cluster);
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    cluster = await readClusterSnapshot(inputs.cluster);
    readTimes.push(performance.now() - s);
  }
  const options = toPlanOptions(inputs);
  const client = await createEc2Client({ endpoint: env.endpoint!, region: env.region! });
  const needs = computeEc2Needs(cluster.snapshot, options);
  const ec2Times: number[] = [];
  let ec2 = await readEc2Snapshot(client, { needs, clusterName: BENCH_CLUSTER, ownerId: inputs.ownerId });
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    ec2 = await readEc2Snapshot(client, { needs, clusterName: BENCH_CLUSTER, ownerId: inputs.ownerId });
    ec2Times.push(performance.now() - s);
  }
  client.destroy();
  const planTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    planRules(cluster.snapshot, ec2.snapshot, options);
    planTimes.push(performance.now() - s);
  }
  const rulesBySg: Record<string, number> = {};
  for (const r of Object.values(last.plan.rules))
    rulesBySg[r.securityGroupId] = (rulesBySg[r.securityGroupId] ?? 0) + 1;
  const objectsPerKind = Object.fromEntries(
    Object.entries(cluster.snapshot).map(([k, v]) => [k, Array.isArray(v) ? v.length : 0]),
  );
  const out: WorkerOut = {
    total: stats(times),
    clusterRead: stats(readTimes),
    ec2Read: stats(ec2Times),
    idleRssMb,
    snapshotJsonNoManagedFieldsMb:
      JSON.stringify(cluster.snapshot, (k, v) => (k === "managedFields" ? undefined : v)).length /
      1024 /
      1024,
    plan: stats(planTimes),
    firstRunMs,
    k8sRequests: last.k8sRequests,
    objectsPerKind,
    ec2Calls: last.ec2Calls,
    rules: Object.keys(last.plan.rules).length,
    rulesBySg,
    skipped: last.plan.skipped.length,
    problems: last.plan.problems.length,
    peakRssMb: peakMb,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    snapshotJsonMb: JSON.stringify(cluster.snapshot).length / 1024 / 1024,
  };
  process.stdout.write(`BENCH_WORKER_RESULT ${JSON.stringify(out)}\n`);
}

function runWorker(env: Record<string, string>): Promise<WorkerOut> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", __filename], {
      env: { ...process.env, ...env, BENCH_WORKER: "preview" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (d) => {
      text += String(d);
    });
    child.on("exit", (code) => {
      const line = text.split("\n").find((l) => l.startsWith("BENCH_WORKER_RESULT "));
      if (code !== 0 || !line)
        reject(new Error(`preview worker failed (exit ${code}): ${text.slice(-2000)}`));
      else resolve(JSON.parse(line.slice("BENCH_WORKER_RESULT ".length)) as WorkerOut);
    });
  });
}

/** Kubernetes requests the target allows: the sum over kinds of ceil(objects / 500), at least one per kind. */
export function expectedK8sRequests(objectsPerKind: Record<string, number>): number {
  return Object.values(objectsPerKind).reduce((a, n) => a + Math.max(1, Math.ceil(n / 500)), 0);
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_PREVIEW_SIZES ?? "500,2000,4000,5000").split(",").map(Number);
  const runs = runsFromEnv(5);
  const result = newResult("preview");
  log(`preview: readAndPlan at ${sizes.join(", ")} Ingresses+Services; ${runs} runs each after a warm-up`);
  const perSize: Array<{
    n: number;
    out: WorkerOut;
    proxy: Record<string, number>;
    throttled: number;
    seedMs: number;
  }> = [];
  for (const n of sizes) {
    // A fresh sandbox per size: faster than clearing the last one, and no leftover apiserver or etcd work.
    const sandbox = await startSandbox();
    const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, throttling: true });
    try {
      const t0 = performance.now();
      const seeded = await seedScenario(sandbox, sandbox.info.motoUrl, benchScenario(n), { concurrency: 32 });
      const seedMs = performance.now() - t0;
      log(
        `  N=${n}: seeded ${seeded.counts.ingresses} Ingresses, ${seeded.counts.services} Services, ${seeded.counts.pods} pods in ${(seedMs / 1000).toFixed(1)} s`,
      );
      await sleep(SETTLE_MS); // let the apiserver and etcd finish what the seeding left them
      proxy.configure({ throttling: true }); // refill the buckets
      proxy.resetCounts();
      const out = await runWorker({
        ...awsEnv(proxy.url, sandbox.info.region),
        BENCH_KUBECONFIG: kubeconfigOf(sandbox),
        BENCH_RUNS: String(runs),
      });
      const throttled = sumValues(proxy.throttled());
      perSize.push({ n, out, proxy: proxy.counts(), throttled, seedMs });
      log(
        `  N=${n}: ${fmtStats(out.total)}; cluster read ${fmtStats(out.clusterRead)}; EC2 read ${fmtStats(out.ec2Read)}; plan ${fmtStats(out.plan)}; first run ${out.firstRunMs.toFixed(0)} ms`,
      );
      log(
        `         k8s requests ${JSON.stringify(out.k8sRequests)} = ${sumValues(out.k8sRequests)} (target ${expectedK8sRequests(out.objectsPerKind)}); EC2 ${JSON.stringify(out.ec2Calls)}; throttled ${throttled}`,
      );
      log(
        `         rules ${out.rules} ${JSON.stringify(out.rulesBySg)}; skipped ${out.skipped}; problems ${out.problems}; peak RSS ${out.peakRssMb.toFixed(0)} MB (maxRSS ${out.maxRssMb.toFixed(0)} MB, idle ${out.idleRssMb.toFixed(0)} MB); snapshot JSON ${out.snapshotJsonMb.toFixed(1)} MB, ${out.snapshotJsonNoManagedFieldsMb.toFixed(1)} MB without managedFields`,
      );
    } finally {
      await proxy.close();
      await sandbox.stop();
    }
  }
  const base = perSize[0]!;
  for (const { n, out, proxy: pc, throttled, seedMs } of perSize) {
    const k8s = sumValues(out.k8sRequests);
    const k8sTarget = expectedK8sRequests(out.objectsPerKind);
    result.rows.push({
      label: `preview N=${n}`,
      median: out.total.median,
      min: out.total.min,
      max: out.total.max,
      runs: out.total.runs,
      unit: "ms",
      extra: {
        "x N=base": ratio(out.total.median, base.out.total.median),
        "cluster read ms": Math.round(out.clusterRead.median),
        "EC2 read ms": Math.round(out.ec2Read.median),
        "plan ms": Math.round(out.plan.median),
        "k8s req": `${k8s} (target ${k8sTarget})`,
        "EC2 calls": sumValues(out.ec2Calls),
        "peak RSS MB": Math.round(out.peakRssMb),
      },
    });
    result.details[`N=${n}`] = { ...out, proxyCounts: pc, proxyThrottled: throttled, seedMs };
    result.targets[`k8s requests N=${n} = sum ceil(objects/500)`] =
      k8s <= k8sTarget ? `met: ${k8s} <= ${k8sTarget}` : `missed: ${k8s} > ${k8sTarget}`;
  }
  const top = perSize[perSize.length - 1]!;
  const describesBase = sumValues(base.out.ec2Calls);
  const describesTop = sumValues(top.out.ec2Calls);
  result.targets["EC2 describes do not grow with objects"] =
    describesTop <= describesBase
      ? `met: ${describesBase} calls at N=${base.n}, ${describesTop} at N=${top.n}`
      : `missed: ${describesBase} calls at N=${base.n}, ${describesTop} at N=${top.n}`;
  const at5k = perSize.find((p) => p.n >= 5000);
  if (at5k)
    result.targets["5,000-object preview under 10 s"] =
      at5k.out.total.median < 10_000
        ? `met: median ${(at5k.out.total.median / 1000).toFixed(2)} s`
        : `missed: median ${(at5k.out.total.median / 1000).toFixed(2)} s`;
  result.details.growth = perSize.map((p) => ({
    n: p.n,
    timeRatio: p.out.total.median / base.out.total.median,
    objectsRatio: p.n / base.n,
    clusterReadMs: p.out.clusterRead.median,
    planMs: p.out.plan.median,
    ec2ReadMs: p.out.ec2Read.median,
    restMs: p.out.total.median - p.out.clusterRead.median - p.out.ec2Read.median - p.out.plan.median,
  }));
  result.notes.push(
    "Each size runs in its own worker process (node + tsx); peak RSS is sampled every 10 ms during the timed runs, maxRSS is the worker's lifetime maximum.",
    "EC2 calls are the provider's logical calls of one readAndPlan; proxyCounts are every request the proxy saw over warm-up + runs + the phase runs.",
    "Phases are timed alone in the same worker: cluster read (readClusterSnapshot), EC2 read (readEc2Snapshot, without the owned-rules lookup that readAndPlan overlaps with the cluster read), plan (planRules on those snapshots); restMs = total - the three.",
  );
  log(`wrote ${writeResult(result)}`);
}

if (process.env.BENCH_WORKER === "preview") {
  worker().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
