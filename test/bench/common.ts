// Shared helpers for the benchmark suite (npm run bench): statistics, result files, sandbox access.
// Benchmarks print figures and write them to bench-results/<name>.json; they never assert on time.
import * as fs from "node:fs";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const resultsDir = path.join(repoRoot, "bench-results");

export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: s.length, samples };
}

/** Runs count from BENCH_RUNS (the driver scales it), else the given default. */
export function runsFromEnv(fallback: number): number {
  const n = Number(process.env.BENCH_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(n < 10 ? 2 : 0)} ms`;
}

export function fmtStats(s: Stats, unit: (n: number) => string = ms): string {
  return `${unit(s.median)} (min ${unit(s.min)}, max ${unit(s.max)}, n=${s.runs})`;
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}x`;
}

export interface BenchRow {
  /** what was measured, e.g. "preview N=2000" */
  label: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** unit of median/min/max */
  unit: "ms" | "s" | "MB" | "calls";
  /** anything else worth a column: call counts, RSS, ratios */
  extra?: Record<string, string | number>;
}

export interface BenchResult {
  name: string;
  startedAt: string;
  node: string;
  command: string;
  rows: BenchRow[];
  /** free-form figures kept whole (counts per kind/action, ratios, targets) */
  details: Record<string, unknown>;
  /** target -> "met: …" | "missed: …" */
  targets: Record<string, string>;
  notes: string[];
}

export function newResult(name: string): BenchResult {
  return {
    name,
    startedAt: new Date().toISOString(),
    node: process.version,
    command: `npm run bench -- ${name}`,
    rows: [],
    details: {},
    targets: {},
    notes: [],
  };
}

export function writeResult(result: BenchResult): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${result.name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

/** Samples this process's RSS every `everyMs` while running fn; returns fn's value and the peak (MB). */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
  everyMs = 10,
): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakMb: peak / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

export const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));

/** Sums counts into `into`. */
export function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export function sumValues(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

/** Environment for the AWS SDK inside a provider process (Pulumi's or ours) talking to the sandbox. */
export function awsEnv(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: "sandbox",
    AWS_SECRET_ACCESS_KEY: "sandbox",
  };
}
