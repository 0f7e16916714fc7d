// Benchmark (not a test): planning 10,000 objects in memory, against a 1,000-object baseline run in the same
// process so the ratio shows how time grows with size. Run: npm run bench -- plan
import { performance } from "node:perf_hooks";
import { DEFAULT_PLAN_OPTIONS, type PlanOptions, planRules } from "../../provider/domain/index.js";
import { newResult, runsFromEnv, writeResult } from "./common.js";
import { type SyntheticShape, syntheticWorld } from "./synthetic.js";

const RUNS = runsFromEnv(15);
const OPTIONS: PlanOptions = { ...DEFAULT_PLAN_OPTIONS, clusterName: "bench", ownerId: "bench" };

interface Figures {
  times: number[];
  median: number;
  min: number;
  max: number;
  rules: number;
  problems: number;
  peakRssMb: number;
}

let peakRss = process.memoryUsage().rss;

function measure(shape: SyntheticShape): Figures {
  const world = syntheticWorld(shape);
  const times: number[] = [];
  let last = planRules(world.cluster, world.ec2, OPTIONS); // warm-up: JIT and inline caches
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    last = planRules(world.cluster, world.ec2, OPTIONS);
    times.push(performance.now() - t0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  times.sort((a, b) => a - b);
  return {
    times: [...times],
    median: times[Math.floor(times.length / 2)]!,
    min: times[0]!,
    max: times[times.length - 1]!,
    rules: last.counts.rules,
    problems: last.counts.problems,
    peakRssMb: peakRss / 1024 / 1024,
  };
}

const fmt = (n: number) => n.toFixed(1);
const baselineShape: SyntheticShape = { ingresses: 500, services: 500, namespaces: 20, nodes: 100 };
const fullShape: SyntheticShape = { ingresses: 5000, services: 5000, namespaces: 200, nodes: 100 };

const baseline = measure(baselineShape);
const full = measure(fullShape);
const report = (label: string, f: Figures) =>
  `${label.padEnd(32)} median ${fmt(f.median)} ms  min ${fmt(f.min)}  max ${fmt(f.max)}  rules ${f.rules}  problems ${f.problems}  peak RSS ${fmt(f.peakRssMb)} MB`;
console.log(`planRules, ${RUNS} runs each after one warm-up (node ${process.version})`);
console.log(report("baseline  1,000 objects", baseline));
console.log(report("full     10,000 objects", full));
console.log(`ratio full/baseline (10x objects): ${(full.median / baseline.median).toFixed(1)}x`);
console.log(`target: 10,000 objects under 100 ms -> ${full.median < 100 ? "met" : "NOT met"}`);

const result = newResult("plan");
for (const [label, f, shape] of [
  ["plan 1,000 objects in memory", baseline, baselineShape],
  ["plan 10,000 objects in memory", full, fullShape],
] as const) {
  result.rows.push({
    label,
    median: f.median,
    min: f.min,
    max: f.max,
    runs: f.times.length,
    unit: "ms",
    extra: { rules: f.rules, problems: f.problems, "peak RSS MB": Math.round(f.peakRssMb) },
  });
  result.details[label] = { shape, ...f };
}
result.details.ratio = full.median / baseline.median;
result.targets["plan: 10,000 objects under 100 ms"] =
  `${full.median < 100 ? "met" : "missed"}: median ${fmt(full.median)} ms (x${(full.median / baseline.median).toFixed(1)} for 10x objects)`;
console.log(`wrote ${writeResult(result)}`);
