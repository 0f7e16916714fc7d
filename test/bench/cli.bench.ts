// Benchmark: the real Pulumi CLI (Automation API, file backend, the dynamic-provider plugin from @pulumi/pulumi):
// `pulumi preview` and `pulumi up` of this ONE resource against a program of N dynamic resources, one per rule
// (each one's create makes one AuthorizeSecurityGroupIngress through the AWS SDK, loaded inside the method), for
// the same N rules on the same sandbox, EC2 through the throttling proxy. Run: npm run bench -- cli
//
// The cluster: 10 node groups of one node, each with its own tagged SG, and N/10 NLB Services with instance
// targets (one NodePort each): N rules, 50 per SG at N = 500 (under the quota: nothing merged).
import { performance } from "node:perf_hooks";
import {
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules } from "pulumi-lbc-backend-sg";
import { readAndPlan } from "../../provider/engine";
import { inlineStack } from "../e2e/automation";
import { startEc2Proxy } from "../sandbox/ec2-proxy";
import { type Sandbox, startSandbox } from "../sandbox/sandbox";
import { clearCluster, LBC_NLB_CLASS, type Scenario, seedScenario } from "../sandbox/seed";
import { kubeconfigOf, previewInputs } from "./cluster";
import {
  awsEnv,
  fmtStats,
  log,
  newResult,
  ratio,
  runsFromEnv,
  type Stats,
  stats,
  writeResult,
} from "./common";

const SGS = 10;
const CLUSTER = "bench";
const CREDENTIALS = { accessKeyId: "sandbox", secretAccessKey: "sandbox" };

function cliScenario(rules: number): Scenario {
  return {
    clusterName: CLUSTER,
    namespaces: ["cli"],
    nodeGroups: Array.from({ length: SGS }, (_, g) => ({
      name: `ng-${g}`,
      nodes: 1,
      securityGroups: [{ name: `${CLUSTER}-ng-${g}`, clusterTag: true }],
    })),
    services: Array.from({ length: Math.ceil(rules / SGS) }, (_, j) => ({
      namespace: "cli",
      name: `svc-${j}`,
      loadBalancerClass: LBC_NLB_CLASS,
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance" },
      ports: [{ name: "main", port: 80, targetPort: 8080 }],
    })),
    ingresses: [],
  };
}

interface PeerRule {
  securityGroupId: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  sourceSecurityGroupId: string;
}

// The per-rule peer's dynamic provider: one rule per resource. Loads the SDK inside its methods, shares one client
// per provider process (adaptive retry mode: client-side rate limiting, 25 attempts like the Terraform AWS
// provider), and retries throttling once more on top so that it always finishes.
const perRuleProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: PeerRule) {
    const sdk = require("@aws-sdk/client-ec2");
    const g = globalThis as unknown as { __peerEc2?: InstanceType<typeof sdk.EC2Client> };
    g.__peerEc2 ??= new sdk.EC2Client({ retryMode: "adaptive", maxAttempts: 25 });
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await g.__peerEc2.send(
          new sdk.AuthorizeSecurityGroupIngressCommand({
            GroupId: inputs.securityGroupId,
            IpPermissions: [
              {
                IpProtocol: inputs.protocol,
                FromPort: inputs.fromPort,
                ToPort: inputs.toPort,
                UserIdGroupPairs: [{ GroupId: inputs.sourceSecurityGroupId, Description: "per-rule peer" }],
              },
            ],
            TagSpecifications: [
              {
                ResourceType: "security-group-rule",
                Tags: [{ Key: "lbc-backend-sg/owner", Value: "bench/per-rule" }],
              },
            ],
          }),
        );
        const id =
          out.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? `${inputs.securityGroupId}-${inputs.fromPort}`;
        return { id, outs: inputs };
      } catch (err) {
        const text = String((err as { name?: string }).name ?? "") + String(err);
        if (!/RequestLimitExceeded|Throttl|retry/i.test(text) || attempt > 30) throw err;
        await new Promise((r) =>
          setTimeout(r, Math.min(20_000, 500 * 2 ** Math.min(attempt, 6)) * Math.random()),
        );
      }
    }
  },
};

class PerRule extends pulumi.dynamic.Resource {
  constructor(name: string, rule: PeerRule) {
    super(perRuleProvider, name, { ...rule }, {});
  }
}

/** Revokes every ingress rule on the node SGs, straight at moto (cleanup between programs; not measured). */
async function revokeAll(sandbox: Sandbox, groups: string[]): Promise<void> {
  const ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: CREDENTIALS,
  });
  try {
    for (const g of groups) {
      const page = await ec2.send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: "group-id", Values: [g] }],
          MaxResults: 1000,
        }),
      );
      const ids = (page.SecurityGroupRules ?? [])
        .filter((r) => !r.IsEgress)
        .map((r) => r.SecurityGroupRuleId!);
      if (ids.length > 0)
        await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: g, SecurityGroupRuleIds: ids }));
    }
  } finally {
    ec2.destroy();
  }
}

interface Timing {
  previewMs: number;
  upMs: number;
  created: number;
}

async function timeProgram(
  projectName: string,
  program: pulumi.automation.PulumiFn,
  env: Record<string, string>,
  config: Record<string, { value: string; secret?: boolean }>,
): Promise<Timing> {
  const t = await inlineStack(projectName, program, env);
  try {
    for (const [k, v] of Object.entries(config)) await t.stack.setConfig(k, v);
    let s = performance.now();
    await t.stack.preview();
    const previewMs = performance.now() - s;
    s = performance.now();
    const up = await t.stack.up();
    const upMs = performance.now() - s;
    return { previewMs, upMs, created: up.summary.resourceChanges?.create ?? 0 };
  } finally {
    await t.dispose();
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_CLI_SIZES ?? "200,500").split(",").map(Number);
  const runs = runsFromEnv(3);
  const peerRuns = Number(process.env.BENCH_CLI_PEER_RUNS ?? 1);
  const result = newResult("cli");
  log(
    `cli: real pulumi preview/up, one resource vs one resource per rule, N = ${sizes.join(", ")}; ours ${runs} runs, per-rule ${peerRuns}`,
  );
  const sandbox = await startSandbox();
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, throttling: true });
  const env = awsEnv(proxy.url, sandbox.info.region);
  Object.assign(process.env, env);
  const kubeconfig = kubeconfigOf(sandbox);
  try {
    // Baseline: the CLI's fixed cost, a program with no resource (stack resource only).
    const empty: Timing[] = [];
    for (let i = 0; i < runs; i++)
      empty.push(await timeProgram("lbc-bench-empty", async () => ({}), env, {}));
    const ep = stats(empty.map((r) => r.previewMs));
    const eu = stats(empty.map((r) => r.upMs));
    log(`  empty program: preview ${fmtStats(ep)}, up ${fmtStats(eu)}`);
    result.rows.push(
      {
        label: "cli: pulumi preview, empty program (fixed cost)",
        median: ep.median,
        min: ep.min,
        max: ep.max,
        runs: ep.runs,
        unit: "ms",
      },
      {
        label: "cli: pulumi up, empty program (fixed cost)",
        median: eu.median,
        min: eu.min,
        max: eu.max,
        runs: eu.runs,
        unit: "ms",
      },
    );
    result.details.emptyProgram = empty;
    for (const n of sizes) {
      await clearCluster(sandbox);
      await sandbox.resetEc2();
      const seeded = await seedScenario(sandbox, sandbox.info.motoUrl, cliScenario(n));
      const nodeSgs = Object.values(seeded.securityGroupIds).filter(
        (id) => id !== seeded.backendSecurityGroupId,
      );
      const planned = await readAndPlan(previewInputs(kubeconfig, "bench/cli"), {
        endpoint: proxy.url,
        region: sandbox.info.region,
      });
      const rules: PeerRule[] = Object.values(planned.plan.rules).map((r) => ({
        securityGroupId: r.securityGroupId,
        protocol: r.protocol,
        fromPort: r.fromPort,
        toPort: r.toPort,
        sourceSecurityGroupId: r.sourceSecurityGroupId,
      }));
      log(
        `  N=${n}: seeded ${seeded.counts.services} Services on ${SGS} node SGs; the plan has ${rules.length} rules`,
      );

      const ours: Timing[] = [];
      for (let i = 0; i < runs; i++) {
        await revokeAll(sandbox, nodeSgs);
        proxy.configure({ throttling: true });
        proxy.resetCounts();
        const r = await timeProgram(
          "lbc-bench-one",
          async () => {
            const cfg = new pulumi.Config();
            const res = new BackendSecurityGroupRules("backend-sg", {
              manageBackendSecurityGroupRules: true,
              cluster: { name: CLUSTER, kubeconfig: cfg.requireSecret("kubeconfig") },
              portMode: "minimal",
            });
            return { rules: res.counts };
          },
          env,
          { kubeconfig: { value: kubeconfig, secret: true } },
        );
        ours.push(r);
        log(
          `    ours run ${i + 1}: preview ${r.previewMs.toFixed(0)} ms, up ${r.upMs.toFixed(0)} ms; EC2 at the proxy ${JSON.stringify(proxy.counts())}`,
        );
      }
      const oursProxy = proxy.counts();

      const peer: Timing[] = [];
      let peerProxy: Record<string, number> = {};
      for (let i = 0; i < peerRuns; i++) {
        await revokeAll(sandbox, nodeSgs);
        proxy.configure({ throttling: true });
        proxy.resetCounts();
        const r = await timeProgram(
          "lbc-bench-per-rule",
          async () => {
            rules.forEach((rule, k) => {
              new PerRule(`rule-${k}`, rule);
            });
            return {};
          },
          env,
          {},
        );
        peer.push(r);
        peerProxy = proxy.counts();
        log(
          `    per-rule run ${i + 1}: preview ${(r.previewMs / 1000).toFixed(1)} s, up ${(r.upMs / 1000).toFixed(1)} s, created ${r.created}; EC2 at the proxy ${JSON.stringify(peerProxy)} throttled ${JSON.stringify(proxy.throttled())}`,
        );
      }
      await revokeAll(sandbox, nodeSgs);

      const row = (label: string, s: Stats, extra?: Record<string, string | number>) =>
        result.rows.push({
          label,
          median: s.median,
          min: s.min,
          max: s.max,
          runs: s.runs,
          unit: "ms",
          ...(extra ? { extra } : {}),
        });
      const op = stats(ours.map((r) => r.previewMs));
      const ou = stats(ours.map((r) => r.upMs));
      row(`cli N=${n}: pulumi preview, one resource`, op);
      row(`cli N=${n}: pulumi up, one resource`, ou);
      // BENCH_CLI_PEER_RUNS=0 measures ours alone (e.g. before/after a change to the provider's start-up)
      const pp = peer.length > 0 ? stats(peer.map((r) => r.previewMs)) : undefined;
      const pu = peer.length > 0 ? stats(peer.map((r) => r.upMs)) : undefined;
      if (pp && pu) {
        row(`cli N=${n}: pulumi preview, ${n} per-rule resources`, pp, {
          "ratio vs ours": ratio(pp.median, op.median),
        });
        row(`cli N=${n}: pulumi up, ${n} per-rule resources`, pu, {
          "ratio vs ours": ratio(pu.median, ou.median),
        });
        log(
          `  N=${n}: preview ours ${fmtStats(op)} vs per-rule ${fmtStats(pp)} = ${ratio(pp.median, op.median)}; up ours ${fmtStats(ou)} vs per-rule ${fmtStats(pu)} = ${ratio(pu.median, ou.median)}`,
        );
      } else log(`  N=${n}: preview ours ${fmtStats(op)}; up ours ${fmtStats(ou)}`);
      result.details[`N=${n}`] = {
        rules: rules.length,
        ours,
        peer,
        oursProxyLastRun: oursProxy,
        peerProxy,
        bucketFloorMs: (Math.max(0, rules.length - 50) / 5) * 1000,
      };
      if (n === 500 && pu)
        result.targets["cli: >= 10x faster pulumi up than per-rule at N = 500"] =
          `${pu.median / ou.median >= 10 ? "met" : "missed"}: ${(pu.median / 1000).toFixed(1)} s vs ${(ou.median / 1000).toFixed(1)} s (${ratio(pu.median, ou.median)})`;
    }
  } finally {
    await proxy.close();
    await sandbox.stop();
  }
  result.notes.push(
    "Each run is a fresh stack (file backend in a temp folder); EC2 rules are revoked straight at moto between runs (not measured).",
    "The per-rule peer runs at pulumi's default --parallel (8) and shares one SDK client (adaptive retries) per provider process.",
    "The per-rule peer's up is bounded below by EC2's Authorize bucket: (N - 50) / 5 per s.",
  );
  log(`wrote ${writeResult(result)}`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
