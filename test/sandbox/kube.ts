import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { freePort, startService, waitUntil } from "./process";
import { ensureTools } from "./tools";

export interface Kube {
  /** https://127.0.0.1:<port> */
  server: string;
  /** path of a kubeconfig (context "sandbox") for an admin in system:masters */
  kubeconfigPath: string;
  kubeconfig: string;
  token: string;
  caPem: string;
  /** an authenticated request against the API (JSON in and out) */
  request(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** CA, serving certificate for 127.0.0.1 and service-account keys, as controller-runtime's envtest makes them. */
function makeCerts(dir: string): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=sandbox-ca",
  ]);
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "apiserver.key",
    "-out",
    "apiserver.csr",
    "-subj",
    "/CN=kube-apiserver",
  ]);
  fs.writeFileSync(
    path.join(dir, "san.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n",
  );
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "apiserver.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "apiserver.crt",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

/**
 * Starts etcd and a real kube-apiserver on loopback (no controller manager, no scheduler: tests create
 * EndpointSlices and statuses themselves). Honours KUBEBUILDER_ASSETS through the tools script.
 */
export async function startKube(opts: { workDir: string }): Promise<Kube> {
  const tools = ensureTools(["etcd", "kube-apiserver"]);
  const dir = fs.mkdtempSync(path.join(opts.workDir, "kube-"));
  makeCerts(dir);
  const token = randomBytes(24).toString("hex");
  fs.writeFileSync(
    path.join(dir, "tokens.csv"),
    `${token},sandbox-admin,sandbox-admin-uid,"system:masters"\n`,
  );

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = startService(
    "etcd",
    tools.ETCD!,
    [
      "--data-dir",
      path.join(dir, "etcd"),
      "--listen-client-urls",
      `http://127.0.0.1:${etcdClient}`,
      "--advertise-client-urls",
      `http://127.0.0.1:${etcdClient}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${etcdPeer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${etcdPeer}`,
      "--initial-cluster",
      `default=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--quota-backend-bytes",
      String(4 * 1024 * 1024 * 1024),
    ],
    { logFile: path.join(dir, "etcd.log") },
  );
  await waitUntil(
    etcd,
    "healthy",
    async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
    30_000,
  );

  const apiserver = startService(
    "kube-apiserver",
    tools.KUBE_APISERVER!,
    [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${dir}/apiserver.crt`,
      `--tls-private-key-file=${dir}/apiserver.key`,
      `--client-ca-file=${dir}/ca.crt`,
      `--token-auth-file=${dir}/tokens.csv`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      "--service-account-issuer=https://127.0.0.1",
      `--service-account-key-file=${dir}/sa.pub`,
      `--service-account-signing-key-file=${dir}/sa.key`,
      // No controller manager creates default ServiceAccounts, so pods would be rejected without this.
      "--disable-admission-plugins=ServiceAccount",
      "--allow-privileged=true",
      "--enable-priority-and-fairness=false",
      "--storage-media-type=application/json",
    ],
    { logFile: path.join(dir, "kube-apiserver.log") },
  );
  const caPem = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
  const server = `https://127.0.0.1:${apiPort}`;
  const request = (method: string, apiPath: string, body?: unknown) =>
    kubeRequest({ server, token, caPem }, method, apiPath, body);
  await waitUntil(apiserver, "ready", async () => (await request("GET", "/readyz")).status === 200, 90_000);

  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: sandbox",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
    "users:",
    "- name: sandbox-admin",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: sandbox",
    "  context:",
    "    cluster: sandbox",
    "    user: sandbox-admin",
    "current-context: sandbox",
    "",
  ].join("\n");
  const kubeconfigPath = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  return {
    server,
    kubeconfigPath,
    kubeconfig,
    token,
    caPem,
    request,
    async stop() {
      await apiserver.stop();
      await etcd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface KubeEndpoint {
  server: string;
  token: string;
  caPem: string;
}

/** Minimal JSON client for seeding and checking the sandbox cluster (the provider itself uses @kubernetes/client-node). */
export async function kubeRequest(
  ep: KubeEndpoint,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(apiPath, ep.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return await new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: ep.caPem,
        headers: {
          authorization: `Bearer ${ep.token}`,
          accept: "application/json",
          ...(payload
            ? {
                "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
                "content-length": payload.length,
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // /readyz answers plain text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}
