// Reads the cluster snapshot: every kind the planner needs, cluster-wide, paginated, kinds in parallel.
// Authentication comes from @kubernetes/client-node's KubeConfig (tokens, client certs, exec plugins such as
// `aws eks get-token`); the lists themselves are plain JSON requests, so objects keep the API's own shape.
import type * as https from "node:https";
import type { ClusterSnapshot } from "../domain/model";

export interface ClusterRef {
  name: string;
  /** kubeconfig YAML/JSON; absent = the default loading rules ($KUBECONFIG, ~/.kube/config, in-cluster) */
  kubeconfig?: string;
  context?: string;
}

export interface ClusterRead {
  snapshot: ClusterSnapshot;
  server: string;
  /** list requests per kind, for call-count assertions and benchmarks */
  requests: Record<string, number>;
}

/** A failure to read the cluster. Its message names the cluster and the API server, never credentials. */
export class ClusterReadError extends Error {
  override readonly name = "ClusterReadError";
}

interface KindSpec {
  key: keyof ClusterSnapshot;
  path: string;
  label: string;
  /** a CRD that may be absent: 404 means none */
  optional?: boolean;
}

const KINDS: KindSpec[] = [
  { key: "ingresses", path: "/apis/networking.k8s.io/v1/ingresses", label: "ingresses" },
  { key: "ingressClasses", path: "/apis/networking.k8s.io/v1/ingressclasses", label: "ingressclasses" },
  {
    key: "ingressClassParams",
    path: "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams",
    label: "ingressclassparams.elbv2.k8s.aws",
    optional: true,
  },
  { key: "services", path: "/api/v1/services", label: "services" },
  { key: "endpointSlices", path: "/apis/discovery.k8s.io/v1/endpointslices", label: "endpointslices" },
  { key: "pods", path: "/api/v1/pods", label: "pods" },
  { key: "nodes", path: "/api/v1/nodes", label: "nodes" },
];

export const PAGE_SIZE = 500;
const MAX_RESTARTS = 3;

interface Connection {
  server: string;
  options: https.RequestOptions;
  clusterName: string;
}

async function connect(ref: ClusterRef): Promise<Connection> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  try {
    if (ref.kubeconfig !== undefined) {
      if (ref.kubeconfig.trim() === "") throw new Error("the kubeconfig is empty");
      kc.loadFromString(ref.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    // The parser's message can quote the input; keep only what is safe to show.
    const why =
      err instanceof Error && /empty/.test(err.message) ? "it is empty" : "it is not valid kubeconfig YAML";
    throw new ClusterReadError(
      `cluster "${ref.name}": cannot load the kubeconfig (${ref.kubeconfig === undefined ? "default loading rules" : "input cluster.kubeconfig"}): ${why}; expected a kubeconfig with a cluster, a user and a context`,
    );
  }
  if (ref.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(ref.context)) {
      throw new ClusterReadError(
        `cluster "${ref.name}": input cluster.context is "${ref.context}"; the kubeconfig has contexts ${names.map((n) => `"${n}"`).join(", ") || "(none)"}`,
      );
    }
    kc.setCurrentContext(ref.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new ClusterReadError(
      `cluster "${ref.name}": the kubeconfig's current context names no cluster with a server address; expected current-context to point at a cluster entry`,
    );
  }
  // client-node refuses http:// unless TLS verification is off; say so rather than blame the credentials below.
  if (/^http:\/\//i.test(cluster.server) && !cluster.skipTLSVerify) {
    throw new ClusterReadError(
      `cluster "${ref.name}": the kubeconfig's cluster server ${cluster.server} is plain HTTP; expected an https:// server (or insecure-skip-tls-verify: true on that cluster entry)`,
    );
  }
  const options: https.RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(options);
  } catch {
    // An exec plugin's or auth provider's output can hold credentials: never quote it.
    throw new ClusterReadError(
      `cluster "${ref.name}": cannot get credentials for ${cluster.server} from the kubeconfig's user (exec plugin or auth provider failed); check that the credential command (for example aws eks get-token) works in the provider's environment`,
    );
  }
  return { server: cluster.server.replace(/\/+$/, ""), options, clusterName: ref.name };
}

interface ListPage {
  items?: unknown[];
  metadata?: { continue?: string; resourceVersion?: string };
}

async function getJson(conn: Connection, apiPath: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(conn.server + apiPath);
  const mod = url.protocol === "http:" ? await import("node:http") : await import("node:https");
  return await new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        ...conn.options,
        method: "GET",
        headers: { ...(conn.options.headers ?? {}), accept: "application/json" },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // non-JSON error bodies are kept as text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 60 s")));
    req.on("error", reject);
    req.end();
  });
}

function statusMessage(body: unknown): string {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string")
    return body.message;
  return typeof body === "string" ? body.slice(0, 200) : "";
}

function hint(status: number, label: string): string {
  if (status === 401) return "check that the kubeconfig's credentials are valid and not expired";
  if (status === 403) return `check that the kubeconfig's user may list ${label} in all namespaces (RBAC)`;
  return "check the API server's health and try again";
}

/** Lists one kind cluster-wide, following `continue`; a 410 Gone (expired continue token) restarts the list. */
async function listAll(
  conn: Connection,
  kind: KindSpec,
  counter: Record<string, number>,
): Promise<unknown[]> {
  for (let attempt = 0; attempt <= MAX_RESTARTS; attempt++) {
    const items: unknown[] = [];
    let token: string | undefined;
    let expired = false;
    do {
      const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (token) q.set("continue", token);
      counter[kind.label] = (counter[kind.label] ?? 0) + 1;
      let res: { status: number; body: unknown };
      try {
        res = await getJson(conn, `${kind.path}?${q}`);
      } catch (err) {
        const code =
          (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
        throw new ClusterReadError(
          `cluster "${conn.clusterName}": cannot reach the API server ${conn.server} while listing ${kind.label}: ${code}; check the kubeconfig's server address, the network path and that the cluster exists`,
        );
      }
      if (res.status === 404 && kind.optional && !token) return [];
      if (res.status === 410 && token) {
        expired = true;
        break;
      }
      if (res.status !== 200) {
        throw new ClusterReadError(
          `cluster "${conn.clusterName}": listing ${kind.label} on ${conn.server} failed: HTTP ${res.status} ${statusMessage(res.body)}; ${hint(res.status, kind.label)}`,
        );
      }
      const page = res.body as ListPage;
      for (const item of page.items ?? []) {
        // managedFields are never read and were 43 % of a 5,000-object snapshot: drop them page by page
        const meta = (item as { metadata?: { managedFields?: unknown } }).metadata;
        if (meta) delete meta.managedFields;
        items.push(item);
      }
      token = page.metadata?.continue || undefined;
    } while (token);
    if (!expired) return items;
  }
  throw new ClusterReadError(
    `cluster "${conn.clusterName}": listing ${kind.label} on ${conn.server} kept expiring (410 Gone) after ${MAX_RESTARTS} restarts; the cluster is changing too fast to read consistently, try again`,
  );
}

/** Reads everything the planner needs. Any failure fails the whole read: a partial view must never be planned. */
export async function readClusterSnapshot(ref: ClusterRef): Promise<ClusterRead> {
  const conn = await connect(ref);
  const requests: Record<string, number> = {};
  const lists = await Promise.all(KINDS.map((kind) => listAll(conn, kind, requests)));
  const snapshot = Object.fromEntries(
    KINDS.map((kind, i) => [kind.key, lists[i] ?? []]),
  ) as unknown as ClusterSnapshot;
  return { snapshot, server: conn.server, requests };
}
