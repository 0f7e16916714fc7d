// Benchmark: applying 1,000 new rules through the throttling proxy (EC2's token buckets: Authorize/Revoke 50 burst,
// 5/s): our applyRuleChanges (one Authorize per SG with every rule) against a per-rule peer (one
// AuthorizeSecurityGroupIngress per rule, 8 in flight like `pulumi up`'s default --parallel, what a program with
// one resource per rule does). moto caps a VPC security group at 60 ingress rules (hard-coded in moto 5.2.5), so
// the 1,000 rules go over 20 SGs x 50 ports instead of 10 x 100. Run: npm run bench -- apply
import { performance } from "node:perf_hooks";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { applyRuleChanges } from "../../provider/aws/apply";
import { awsErrorCode, createEc2Client } from "../../provider/aws/client";
import { OWNER_TAG_KEY } from "../../provider/domain/model";
import type { DesiredRule } from "../../provider/domain/plan";
import { ruleDescription, ruleKey } from "../../provider/domain/rules";
import { startEc2Proxy } from "../sandbox/ec2-proxy";
import { type Sandbox, startSandbox } from "../sandbox/sandbox";
import { fmtStats, log, newResult, ratio, runsFromEnv, sleep, stats, sumValues, writeResult } from "./common";

const SGS = Number(process.env.BENCH_APPLY_SGS ?? 20);
const PER_SG = Number(process.env.BENCH_APPLY_PER_SG ?? 50);
const PEER_PARALLEL = 8;
const WHAT_IF_CONCURRENCY = 16;
const OWNER = "bench/apply";
const CREDENTIALS = { accessKeyId: "sandbox", secretAccessKey: "sandbox" };

interface World {
  source: string;
  groups: string[];
  rules: DesiredRule[];
}

/** Fresh EC2 state: a VPC, the backend (source) SG and SGS destination SGs; PER_SG desired TCP ports on each. */
async function freshWorld(sandbox: Sandbox): Promise<World> {
  await sandbox.resetEc2();
  const ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: CREDENTIALS,
  });
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }));
    const vpcId = vpc.Vpc!.VpcId!;
    const sg = async (name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId })))
        .GroupId!;
    const source = await sg("backend");
    const groups: string[] = [];
    for (let g = 0; g < SGS; g++) groups.push(await sg(`dest-${g}`));
    const rules: DesiredRule[] = [];
    for (const securityGroupId of groups)
      for (let p = 0; p < PER_SG; p++) {
        const port = 30000 + p;
        const r = {
          securityGroupId,
          protocol: "tcp" as const,
          fromPort: port,
          toPort: port,
          sourceSecurityGroupId: source,
        };
        rules.push({
          ...r,
          key: ruleKey(r),
          ports: [port],
          neededBy: [`Service bench/svc-${p}`],
          state: "authorize",
        });
      }
    return { source, groups, rules };
  } finally {
    ec2.destroy();
  }
}

async function countRules(sandbox: Sandbox, groups: string[]): Promise<number> {
  const ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: CREDENTIALS,
  });
  try {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: "group-id", Values: groups }],
          MaxResults: 1000,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      n += (page.SecurityGroupRules ?? []).filter((r) => !r.IsEgress).length;
      token = page.NextToken || undefined;
    } while (token);
    return n;
  } finally {
    ec2.destroy();
  }
}

interface RunOut {
  ms: number;
  logicalCalls: Record<string, number>;
  proxyCalls: Record<string, number>;
  throttled: Record<string, number>;
  rulesInEc2: number;
}

async function runOurs(sandbox: Sandbox, concurrency?: number): Promise<RunOut> {
  const world = await freshWorld(sandbox);
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, throttling: true });
  const client = await createEc2Client({
    endpoint: proxy.url,
    region: sandbox.info.region,
    credentials: CREDENTIALS,
  });
  try {
    const t0 = performance.now();
    const applied = await applyRuleChanges(
      client,
      {
        toAuthorize: world.rules,
        toRevoke: [],
        toAdopt: [],
        ownerId: OWNER,
        description: ruleDescription(OWNER),
      },
      concurrency !== undefined ? { concurrency } : {},
    );
    const ms = performance.now() - t0;
    if (applied.authorized.length !== world.rules.length)
      throw new Error(`ours authorized ${applied.authorized.length} of ${world.rules.length}`);
    return {
      ms,
      logicalCalls: { ...applied.calls },
      proxyCalls: proxy.counts(),
      throttled: proxy.throttled(),
      rulesInEc2: await countRules(sandbox, world.groups),
    };
  } finally {
    client.destroy();
    await proxy.close();
  }
}

/**
 * The per-rule peer: what a dynamic or native resource per rule does in its create — one
 * AuthorizeSecurityGroupIngress with one permission and its tag — with PEER_PARALLEL creates in flight. It is
 * given every chance: the SDK's adaptive retry mode (client-side rate limiting) with 25 attempts (the Terraform AWS
 * provider's default max_retries), and an outer retry if the SDK still gives up on throttling, so it always
 * finishes.
 */
async function runPeer(sandbox: Sandbox): Promise<RunOut & { outerRetries: number }> {
  const world = await freshWorld(sandbox);
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, throttling: true });
  const ec2 = new EC2Client({
    endpoint: proxy.url,
    region: sandbox.info.region,
    credentials: CREDENTIALS,
    retryMode: "adaptive",
    maxAttempts: 25,
  });
  let outerRetries = 0;
  const description = ruleDescription(OWNER);
  try {
    const t0 = performance.now();
    let next = 0;
    const createOne = async (rule: DesiredRule) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await ec2.send(
            new AuthorizeSecurityGroupIngressCommand({
              GroupId: rule.securityGroupId,
              IpPermissions: [
                {
                  IpProtocol: rule.protocol,
                  FromPort: rule.fromPort,
                  ToPort: rule.toPort,
                  UserIdGroupPairs: [{ GroupId: rule.sourceSecurityGroupId, Description: description }],
                },
              ],
              TagSpecifications: [
                { ResourceType: "security-group-rule", Tags: [{ Key: OWNER_TAG_KEY, Value: OWNER }] },
              ],
            }),
          );
          return;
        } catch (err) {
          if (awsErrorCode(err) !== "RequestLimitExceeded" && !/retry|quota/i.test(String(err))) throw err;
          outerRetries++;
          await sleep(Math.min(20_000, 500 * 2 ** Math.min(attempt, 6)) * Math.random());
        }
      }
    };
    await Promise.all(
      Array.from({ length: PEER_PARALLEL }, async () => {
        while (next < world.rules.length) await createOne(world.rules[next++]!);
      }),
    );
    const ms = performance.now() - t0;
    return {
      ms,
      logicalCalls: { AuthorizeSecurityGroupIngress: world.rules.length },
      proxyCalls: proxy.counts(),
      throttled: proxy.throttled(),
      rulesInEc2: await countRules(sandbox, world.groups),
      outerRetries,
    };
  } finally {
    ec2.destroy();
    await proxy.close();
  }
}

async function main(): Promise<void> {
  const runs = runsFromEnv(5);
  const peerRuns = Number(process.env.BENCH_APPLY_PEER_RUNS ?? 1);
  const total = SGS * PER_SG;
  const result = newResult("apply");
  log(
    `apply: ${total} new rules over ${SGS} SGs x ${PER_SG} through the throttling proxy; ours ${runs} runs, per-rule peer ${peerRuns}`,
  );
  const sandbox = await startSandbox();
  const ours: RunOut[] = [];
  const oursWide: RunOut[] = [];
  const peer: Array<RunOut & { outerRetries: number }> = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await runOurs(sandbox);
      ours.push(r);
      log(
        `  ours run ${i + 1}: ${r.ms.toFixed(0)} ms, calls ${JSON.stringify(r.logicalCalls)}, proxy saw ${JSON.stringify(r.proxyCalls)}, rules in EC2 ${r.rulesInEc2}`,
      );
    }
    // What-if: the same apply with more SGs in flight (the default is 4); evidence for tuning, not the product.
    for (let i = 0; i < runs; i++) {
      const r = await runOurs(sandbox, WHAT_IF_CONCURRENCY);
      oursWide.push(r);
      log(
        `  ours, concurrency ${WHAT_IF_CONCURRENCY}, run ${i + 1}: ${r.ms.toFixed(0)} ms, proxy saw ${JSON.stringify(r.proxyCalls)}, throttled ${JSON.stringify(r.throttled)}`,
      );
    }
    for (let i = 0; i < peerRuns; i++) {
      const r = await runPeer(sandbox);
      peer.push(r);
      log(
        `  peer run ${i + 1}: ${(r.ms / 1000).toFixed(1)} s, proxy saw ${JSON.stringify(r.proxyCalls)} (throttled ${JSON.stringify(r.throttled)}), outer retries ${r.outerRetries}, rules in EC2 ${r.rulesInEc2}`,
      );
    }
  } finally {
    await sandbox.stop();
  }
  const o = stats(ours.map((r) => r.ms));
  const p = stats(peer.map((r) => r.ms));
  const oCalls = sumValues(ours[0]!.logicalCalls);
  const oProxy = stats(ours.map((r) => sumValues(r.proxyCalls)));
  const pProxy = stats(peer.map((r) => sumValues(r.proxyCalls)));
  const pLogical = total;
  const floorMs = (Math.max(0, total - 50) / 5) * 1000;
  log(`ours: ${fmtStats(o)}; EC2 calls ${oCalls} logical, ${oProxy.median} at the proxy`);
  log(
    `peer: ${fmtStats(p)}; EC2 calls ${pLogical} logical, ${pProxy.median} at the proxy (incl. throttled); bucket floor ${(floorMs / 1000).toFixed(0)} s`,
  );
  log(
    `ratio: wall time ${ratio(p.median, o.median)}, EC2 calls ${ratio(pLogical, oCalls)} logical / ${ratio(pProxy.median, oProxy.median)} at the proxy`,
  );
  result.rows.push(
    {
      label: `apply ${total} rules: ours`,
      median: o.median,
      min: o.min,
      max: o.max,
      runs: o.runs,
      unit: "ms",
      extra: { "EC2 calls": oCalls, "at proxy": oProxy.median, throttled: sumValues(ours[0]!.throttled) },
    },
    {
      label: `apply ${total} rules: per-rule peer`,
      median: p.median,
      min: p.min,
      max: p.max,
      runs: p.runs,
      unit: "ms",
      extra: {
        "EC2 calls": pLogical,
        "at proxy": pProxy.median,
        throttled: sumValues(peer[0]!.throttled),
        "time ratio": ratio(p.median, o.median),
        "calls ratio": ratio(pLogical, oCalls),
      },
    },
  );
  const w = stats(oursWide.map((r) => r.ms));
  log(
    `ours with concurrency ${WHAT_IF_CONCURRENCY}: ${fmtStats(w)} (default 4 is ${ratio(w.median, o.median)} as fast)`,
  );
  result.rows.push({
    label: `apply ${total} rules: ours, what-if concurrency ${WHAT_IF_CONCURRENCY}`,
    median: w.median,
    min: w.min,
    max: w.max,
    runs: w.runs,
    unit: "ms",
    extra: { "default 4 vs this": ratio(w.median, o.median), throttled: sumValues(oursWide[0]!.throttled) },
  });
  result.details = {
    oursWide,
    sgs: SGS,
    perSg: PER_SG,
    peerParallel: PEER_PARALLEL,
    ours,
    peer,
    bucketFloorMs: floorMs,
  };
  result.targets["apply: >= 20x fewer EC2 calls than per-rule at 1,000 rules"] =
    `${pLogical / oCalls >= 20 ? "met" : "missed"}: ${pLogical} vs ${oCalls} (${ratio(pLogical, oCalls)}); at the proxy ${pProxy.median} vs ${oProxy.median}`;
  result.targets["apply: >= 10x less wall time than per-rule at 1,000 rules"] =
    `${p.median / o.median >= 10 ? "met" : "missed"}: ${(p.median / 1000).toFixed(1)} s vs ${(o.median / 1000).toFixed(2)} s (${ratio(p.median, o.median)})`;
  result.notes.push(
    `moto 5.2.5 hard-codes 60 ingress rules per VPC security group (no setting), so ${total} rules go over ${SGS} SGs x ${PER_SG}.`,
    `The peer's time is bounded below by the Authorize bucket: (${total} - 50 burst) / 5 per s = ${(floorMs / 1000).toFixed(0)} s.`,
    "Ours includes learning the new rules' sgr- ids: moto's Authorize response lists only the last permission's rules, so each SG is re-read once (DescribeSecurityGroupRules); AWS lists them all.",
  );
  log(`wrote ${writeResult(result)}`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
