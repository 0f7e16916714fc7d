import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import { ec2ErrorXml } from "./ec2-xml";

/**
 * An EC2 API proxy in front of moto's server: counts calls per EC2 action, emulates EC2's per-action token buckets
 * and injects faults, deterministically. The AWS SDK v3 EC2 client talks to it with `endpoint: proxy.url`.
 *
 * EC2's Query protocol: `POST /` with a form body `Action=...&Version=...` (a GET with the same query string is
 * accepted too). Requests without an `Action` (moto's `/moto-api/...`) pass through uncounted and unthrottled.
 */

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export type BucketCategory = "mutating-sg" | "describe" | "mutating-other";

/** An EC2 error code answered with EC2's XML error body (HTTP 400 unless `status` is given). */
export interface CodeFault {
  code: string;
  status?: number;
  message?: string;
}
export type FaultKind = "throttle" | "http500" | "reset" | CodeFault;

export interface FaultRule {
  /** an EC2 action name, or "*" for every action */
  action: string;
  kind: FaultKind;
  /** probability 0..1 that a call fails; deterministic: a function of (seed, rule index, action, call index) */
  rate?: number;
  /** 1-based call indexes of that action that fail (each action counted separately, also for "*") */
  schedule?: number[];
}

export interface Ec2ProxyOptions {
  upstream: string;
  /** true: EC2's documented bucket sizes; an object: those sizes with the given categories overridden. Off by default. */
  throttling?: boolean | Partial<Record<BucketCategory, BucketSpec>>;
  faults?: FaultRule[];
  seed?: number;
}

export interface Ec2Proxy {
  url: string;
  /** calls per EC2 action that reached the proxy (including throttled and faulted ones, and SDK retries) */
  counts(): Record<string, number>;
  /** calls per EC2 action forwarded to the upstream */
  forwarded(): Record<string, number>;
  /** calls per EC2 action answered `RequestLimitExceeded` (by an empty bucket or an injected "throttle" fault) */
  throttled(): Record<string, number>;
  /** calls per EC2 action that got an injected fault (any kind, including "throttle") */
  faulted(): Record<string, number>;
  /** zeroes every counter, including the call indexes that fault schedules and rates refer to */
  resetCounts(): void;
  /**
   * Changes throttling, faults or seed at runtime. Always refills every bucket; new `faults` (or `seed`) restart
   * the call indexes their schedules and rates refer to (the counters shown by counts() are kept).
   */
  configure(opts: Partial<Omit<Ec2ProxyOptions, "upstream">>): void;
  close(): Promise<void>;
}

/** EC2's documented token buckets ("Request throttling for the Amazon EC2 API"); each action has its own bucket. */
export const EC2_BUCKETS: Readonly<Record<BucketCategory, BucketSpec>> = {
  "mutating-sg": { capacity: 50, refillPerSecond: 5 },
  describe: { capacity: 100, refillPerSecond: 20 },
  "mutating-other": { capacity: 50, refillPerSecond: 5 },
};

export function bucketCategory(action: string): BucketCategory {
  if (/^(Authorize|Revoke)SecurityGroup(Ingress|Egress)$/.test(action)) return "mutating-sg";
  // EC2's "non-mutating actions" category: Describe*, Get*, List*, Search*.
  if (/^(Describe|Get|List|Search)/.test(action)) return "describe";
  return "mutating-other";
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly spec: BucketSpec) {
    this.tokens = spec.capacity;
    this.last = performance.now();
  }
  /** takes one token if there is one (continuous refill, capped at capacity) */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(
      this.spec.capacity,
      this.tokens + ((now - this.last) / 1000) * this.spec.refillPerSecond,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** mulberry32's first output for a 32-bit seed: a uniform number in [0, 1). */
function mulberry32(seed: number): number {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** FNV-1a, to turn (seed, rule, action, call index) into a mulberry32 seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Whether call `n` of `action` fails under rule `ruleIndex` with the given rate. Stateless on purpose: the decision
 * does not depend on how calls of different actions interleave, so concurrent runs with one seed fail the same calls.
 */
export function rateHit(seed: number, ruleIndex: number, action: string, n: number, rate: number): boolean {
  return mulberry32(fnv1a(`${seed}:${ruleIndex}:${action}:${n}`)) < rate;
}

function resolveBuckets(t: Ec2ProxyOptions["throttling"]): Record<BucketCategory, BucketSpec> | undefined {
  if (!t) return undefined;
  return t === true ? { ...EC2_BUCKETS } : { ...EC2_BUCKETS, ...t };
}

/** hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the message: not forwarded either way */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"];
function endToEnd<T extends Record<string, unknown>>(headers: T): T {
  const out = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

function bump(m: Map<string, number>, key: string): number {
  const n = (m.get(key) ?? 0) + 1;
  m.set(key, n);
  return n;
}

function actionOf(req: http.IncomingMessage, body: Buffer): string | undefined {
  const url = new URL(req.url ?? "/", "http://proxy");
  const fromQuery = url.searchParams.get("Action");
  if (fromQuery) return fromQuery;
  const type = req.headers["content-type"] ?? "";
  if (req.method === "POST" && type.startsWith("application/x-www-form-urlencoded")) {
    return new URLSearchParams(body.toString("utf8")).get("Action") ?? undefined;
  }
  return undefined;
}

export async function startEc2Proxy(opts: Ec2ProxyOptions): Promise<Ec2Proxy> {
  const upstream = new URL(opts.upstream);
  let buckets = resolveBuckets(opts.throttling);
  let faults: FaultRule[] = opts.faults ?? [];
  let seed = opts.seed ?? 0;
  const live = new Map<string, TokenBucket>();

  const counts = new Map<string, number>();
  const forwarded = new Map<string, number>();
  const throttled = new Map<string, number>();
  const faulted = new Map<string, number>();
  /** per-action call index that fault schedules and rates refer to */
  const faultCalls = new Map<string, number>();

  const agent = new http.Agent({ keepAlive: true });

  function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
    const body = ec2ErrorXml(code, message, randomUUID());
    res.writeHead(status, {
      "content-type": "text/xml;charset=UTF-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const headers: http.OutgoingHttpHeaders = { ...endToEnd(req.headers), host: upstream.host };
    const upReq = http.request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.headers));
        pipeline(upRes, res, () => {
          // a client that went away mid-response is not the proxy's problem
        });
      },
    );
    upReq.on("error", (err) => {
      if (res.headersSent) res.destroy(err);
      else sendError(res, 502, "ProxyUpstreamError", `upstream ${upstream.host}: ${err.message}`);
    });
    upReq.end(body);
  }

  /** the first matching rule that fires for this call, if any */
  function pickFault(action: string, n: number): FaultKind | undefined {
    for (const [i, rule] of faults.entries()) {
      if (rule.action !== "*" && rule.action !== action) continue;
      if (rule.schedule?.includes(n)) return rule.kind;
      if (rule.rate !== undefined && rateHit(seed, i, action, n, rule.rate)) return rule.kind;
    }
    return undefined;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const action = actionOf(req, body);
    if (action === undefined) {
      forward(req, res, body);
      return;
    }
    bump(counts, action);
    const n = bump(faultCalls, action);

    const fault = pickFault(action, n);
    if (fault !== undefined) {
      bump(faulted, action);
      if (fault === "reset") {
        // TCP RST without any response: the SDK sees ECONNRESET (a transient, retryable network error).
        req.socket.resetAndDestroy();
        return;
      }
      if (fault === "throttle") {
        bump(throttled, action);
        sendError(res, 503, "RequestLimitExceeded", "Request limit exceeded.");
        return;
      }
      if (fault === "http500") {
        sendError(res, 500, "InternalError", "An internal error has occurred.");
        return;
      }
      sendError(res, fault.status ?? 400, fault.code, fault.message ?? `Injected fault ${fault.code}.`);
      return;
    }

    if (buckets) {
      let bucket = live.get(action);
      if (!bucket) {
        bucket = new TokenBucket(buckets[bucketCategory(action)]);
        live.set(action, bucket);
      }
      if (!bucket.take()) {
        bump(throttled, action);
        sendError(res, 503, "RequestLimitExceeded", "Request limit exceeded.");
        return;
      }
    }

    bump(forwarded, action);
    forward(req, res, body);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
    req.on("error", () => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => Object.fromEntries(counts),
    forwarded: () => Object.fromEntries(forwarded),
    throttled: () => Object.fromEntries(throttled),
    faulted: () => Object.fromEntries(faulted),
    resetCounts() {
      for (const m of [counts, forwarded, throttled, faulted, faultCalls]) m.clear();
    },
    configure(next) {
      if ("throttling" in next) buckets = resolveBuckets(next.throttling);
      if (next.faults !== undefined) faults = next.faults;
      if (next.seed !== undefined) seed = next.seed;
      if (next.faults !== undefined || next.seed !== undefined) faultCalls.clear();
      live.clear(); // new buckets are created full on first use
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
