import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Kube, kubeRequest, startKube } from "./kube";
import { startMoto } from "./moto";

/** What tests need to reach a running sandbox; written as JSON so a sandbox can be shared by test processes. */
export interface SandboxInfo {
  workDir: string;
  region: string;
  motoUrl: string;
  kube: { server: string; token: string; caPem: string; kubeconfigPath: string };
}

export interface Sandbox {
  info: SandboxInfo;
  kubeRequest(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  resetEc2(): Promise<void>;
  stop(): Promise<void>;
}

export const SANDBOX_ENV = "LBC_SG_SANDBOX";

function log(msg: string): void {
  process.stderr.write(`[sandbox] ${msg}\n`);
}

/** Starts moto and etcd + kube-apiserver (tools are built on first use). */
export async function startSandbox(opts: { workDir?: string } = {}): Promise<Sandbox> {
  const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "lbc-sg-sandbox-"));
  fs.mkdirSync(workDir, { recursive: true });
  const t0 = Date.now();
  log("starting moto (EC2) and kube-apiserver + etcd …");
  const [moto, kube] = await Promise.all([startMoto({ logDir: workDir }), startKube({ workDir })]);
  log(`ready in ${Date.now() - t0} ms: EC2 ${moto.url}, Kubernetes ${kube.server} (logs in ${workDir})`);
  await installCrds(kube);
  const info: SandboxInfo = {
    workDir,
    region: "us-east-1",
    motoUrl: moto.url,
    kube: { server: kube.server, token: kube.token, caPem: kube.caPem, kubeconfigPath: kube.kubeconfigPath },
  };
  return {
    info,
    kubeRequest: kube.request,
    resetEc2: moto.reset,
    async stop() {
      await Promise.all([moto.stop(), kube.stop()]);
    },
  };
}

/** The LBC's IngressClassParams CRD (schema left open: we only read spec.group.name). */
async function installCrds(kube: Kube): Promise<void> {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "ingressclassparams.elbv2.k8s.aws" },
    spec: {
      group: "elbv2.k8s.aws",
      scope: "Cluster",
      names: { plural: "ingressclassparams", singular: "ingressclassparams", kind: "IngressClassParams" },
      versions: [
        {
          name: "v1beta1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
  const res = await kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  if (res.status !== 201 && res.status !== 409) throw new Error(`installing CRD failed: HTTP ${res.status}`);
  // The CRD's endpoint appears asynchronously.
  for (let i = 0; i < 100; i++) {
    const probe = await kube.request("GET", "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams");
    if (probe.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("IngressClassParams CRD did not become served");
}

/**
 * The sandbox for this test process: the shared one named by $LBC_SG_SANDBOX (started once by scripts/test.mjs),
 * or a private one started now and stopped at exit, so a single test file can also run alone.
 */
let shared: Promise<Sandbox> | undefined;
export function getSandbox(): Promise<Sandbox> {
  shared ??= (async () => {
    const file = process.env[SANDBOX_ENV];
    if (file && fs.existsSync(file)) {
      const info = JSON.parse(fs.readFileSync(file, "utf8")) as SandboxInfo;
      return {
        info,
        kubeRequest: (method: string, apiPath: string, body?: unknown) =>
          kubeRequest(info.kube, method, apiPath, body),
        async resetEc2() {
          const res = await fetch(`${info.motoUrl}/moto-api/reset`, { method: "POST" });
          if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
        },
        async stop() {
          // owned by the process that started it
        },
      };
    }
    return await startSandbox();
  })();
  return shared;
}
