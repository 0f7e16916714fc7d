// `npm run demo`: the main job on a fresh machine. Brings the sandbox up (moto for EC2, a real kube-apiserver),
// seeds a small realistic cluster, runs `pulumi preview --diff` and `pulumi up` of the root Pulumi.yaml program
// with the real Pulumi CLI, prints the resulting rules, shows that a second preview is empty, and tears down.

import type { RuleState } from "pulumi-lbc-backend-sg";
import { program } from "../examples/sandbox/program";
import { inlineStack, type TestStack } from "../test/e2e/automation";
import { type Sandbox, startSandbox } from "../test/sandbox/sandbox";
import { seedScenario, smallDemoScenario } from "../test/sandbox/seed";

const CLUSTER = "demo";

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m=== ${text}\x1b[0m\n`);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let sandbox: Sandbox | undefined;
  let stack: TestStack | undefined;
  try {
    banner("1. Sandbox: moto (EC2) and kube-apiserver + etcd on 127.0.0.1");
    sandbox = await startSandbox();

    banner(
      "2. Seeding a small cluster: 3 namespaces, Ingresses (one group, one opt-out), NLB Services, 3 nodes",
    );
    const seeded = await seedScenario(sandbox, sandbox.info.motoUrl, smallDemoScenario(CLUSTER), {
      onProgress: (m) => process.stdout.write(`   ${m}\n`),
    });
    process.stdout.write(
      `   ${seeded.counts.ingresses} Ingresses, ${seeded.counts.services} Services, ${seeded.counts.pods} pods, ${seeded.counts.nodes} nodes; backend SG ${seeded.backendSecurityGroupId}\n`,
    );
    for (const [name, id] of Object.entries(seeded.securityGroupIds))
      process.stdout.write(`   SG ${name}: ${id}\n`);

    const kubeconfig = (await import("node:fs")).readFileSync(sandbox.info.kube.kubeconfigPath, "utf8");
    stack = await inlineStack("lbc-backend-sg-demo", async () => program(), {
      AWS_ENDPOINT_URL_EC2: sandbox.info.motoUrl,
      AWS_REGION: sandbox.info.region,
      AWS_ACCESS_KEY_ID: "sandbox",
      AWS_SECRET_ACCESS_KEY: "sandbox",
    });
    await stack.stack.setConfig("clusterName", { value: CLUSTER });
    await stack.stack.setConfig("kubeconfig", { value: kubeconfig, secret: true });
    const out = (s: string) => process.stdout.write(s);

    banner("3. pulumi preview --diff");
    await stack.stack.preview({ diff: true, onOutput: out });

    banner("4. pulumi up");
    const up = await stack.stack.up({ onOutput: out });

    banner("5. The rules in EC2 now");
    const rules = (up.outputs.rules?.value ?? {}) as Record<string, RuleState>;
    const rows = [["SECURITY GROUP", "PROTO", "PORTS", "SOURCE", "OWNER", "RULE ID", "NEEDED BY"]];
    const sgName = new Map(Object.entries(seeded.securityGroupIds).map(([n, id]) => [id, n]));
    for (const r of Object.values(rules)) {
      rows.push([
        `${r.securityGroupId} (${sgName.get(r.securityGroupId) ?? "?"})`,
        r.protocol,
        r.fromPort === r.toPort ? String(r.fromPort) : `${r.fromPort}-${r.toPort}`,
        r.sourceSecurityGroupId,
        r.owned ? "ours" : "someone else",
        r.ruleId ?? "",
        r.neededBy.join(", "),
      ]);
    }
    process.stdout.write(`${table(rows)}\n`);
    const skipped = (up.outputs.skipped?.value ?? {}) as Record<string, string>;
    process.stdout.write(`\nNo rules for ${Object.keys(skipped).length} objects:\n`);
    for (const [object, reason] of Object.entries(skipped)) process.stdout.write(`   ${object}: ${reason}\n`);

    banner("6. pulumi preview again: nothing to do");
    const again = await stack.stack.preview({ expectNoChanges: true });
    process.stdout.write(`   ${JSON.stringify(again.changeSummary)}\n`);

    banner(
      "7. The cluster changes: a new NLB Service in shop, Ingress platform/admin and its Service deleted",
    );
    const created = await sandbox.kubeRequest("POST", "/api/v1/namespaces/shop/services", {
      metadata: { name: "queue-nlb" },
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: "service.k8s.aws/nlb",
        selector: { app: "queue" },
        ports: [{ name: "amqp", port: 5672, targetPort: 5672 }],
      },
    });
    if (created.status !== 201) throw new Error(`creating Service shop/queue-nlb: HTTP ${created.status}`);
    await sandbox.kubeRequest("DELETE", "/apis/networking.k8s.io/v1/namespaces/platform/ingresses/admin");
    await sandbox.kubeRequest("DELETE", "/api/v1/namespaces/platform/services/admin");
    banner("8. pulumi preview --diff: one + or - line per rule that changes");
    await stack.stack.preview({ diff: true, onOutput: out });
    banner("9. pulumi up: authorize the new rules first, then revoke the obsolete ones");
    const second = await stack.stack.up({ diff: true });
    process.stdout.write(`   ${JSON.stringify(second.summary.resourceChanges)}\n`);

    banner(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s; tearing the sandbox down`);
  } finally {
    await stack?.dispose();
    await sandbox?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
