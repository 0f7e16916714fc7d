// Seeding the sandbox for benchmarks: the large scenario at a given size, through moto directly.
import * as fs from "node:fs";
import type { BackendSecurityGroupRulesInputs } from "../../provider/inputs";
import type { Sandbox } from "../sandbox/sandbox";
import { clearCluster, largeScenario, type SeededCluster, seedScenario } from "../sandbox/seed";

export const BENCH_CLUSTER = "bench";

/** Objects = Ingresses + Services, split half and half; 100 namespaces, 50 nodes in 5 node SGs (issue 6). */
export function benchScenario(objects: number) {
  const services = Math.ceil(objects / 2);
  return largeScenario({
    ingresses: objects - services,
    services,
    namespaces: 100,
    nodes: 50,
    nodeSecurityGroups: 5,
    clusterName: BENCH_CLUSTER,
  });
}

/** Empties the cluster and EC2, then seeds `objects` Ingresses + Services; returns the seed and its time. */
export async function reseed(
  sandbox: Sandbox,
  objects: number,
): Promise<{ seeded: SeededCluster; ms: number }> {
  const t0 = performance.now();
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  const seeded = await seedScenario(sandbox, sandbox.info.motoUrl, benchScenario(objects), {
    concurrency: 32,
  });
  return { seeded, ms: performance.now() - t0 };
}

export function kubeconfigOf(sandbox: Sandbox): string {
  return fs.readFileSync(sandbox.info.kube.kubeconfigPath, "utf8");
}

/** The inputs the benchmarks give the provider: the LBC's global manage flag on, minimal port mode. */
export function previewInputs(
  kubeconfig: string,
  ownerId = "bench/preview",
): BackendSecurityGroupRulesInputs {
  return {
    manageBackendSecurityGroupRules: true,
    cluster: { name: BENCH_CLUSTER, kubeconfig },
    portMode: "minimal",
    ownerId,
  };
}
