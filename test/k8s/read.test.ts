// The Kubernetes reader against the sandbox's real kube-apiserver: complete reads, pagination, and failures whose
// messages name the cluster and the server but never the credentials or the kubeconfig's content.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Service } from "../../provider/domain/model";
import { ClusterReadError, readClusterSnapshot } from "../../provider/k8s/read";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import {
  clearCluster,
  clearNamespaces,
  mapLimit,
  SEED_LABEL,
  type SeededCluster,
  seedScenario,
  smallDemoScenario,
} from "../sandbox/seed";
import { kubeconfigYaml } from "./kubeconfig";

let sandbox: Sandbox;
let kubeconfig: string;
const CLUSTER = "reader";

before(async () => {
  sandbox = await getSandbox();
  kubeconfig = fs.readFileSync(sandbox.info.kube.kubeconfigPath, "utf8");
  await clearCluster(sandbox);
  await sandbox.resetEc2();
});
after(async () => {
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  await sandbox.stop();
});

/** the ClusterReadError `p` rejects with */
async function readError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ClusterReadError, `expected a ClusterReadError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("the read succeeded");
}

async function listCount(apiPath: string): Promise<number> {
  const res = await sandbox.kubeRequest("GET", apiPath);
  assert.equal(res.status, 200, apiPath);
  return (res.body as { items: unknown[] }).items.length;
}

describe("a seeded small cluster", () => {
  let seeded: SeededCluster;
  before(async () => {
    seeded = await seedScenario(sandbox, sandbox.info.motoUrl, smallDemoScenario(CLUSTER));
  });
  after(async () => {
    await clearCluster(sandbox);
    await sandbox.resetEc2();
  });

  test("is read back completely: every kind, exact counts, one list request each", async () => {
    const read = await readClusterSnapshot({ name: CLUSTER, kubeconfig });
    const s = read.snapshot;
    const seededNs = (o: { metadata: { namespace?: string } }) =>
      ["shop", "payments", "platform"].includes(o.metadata.namespace ?? "");
    assert.equal(read.server, sandbox.info.kube.server);
    assert.deepEqual(
      {
        ingresses: s.ingresses.filter(seededNs).length,
        services: s.services.filter(seededNs).length,
        endpointSlices: s.endpointSlices.filter(seededNs).length,
        pods: s.pods.filter(seededNs).length,
        nodes: s.nodes.length,
        ingressClasses: s.ingressClasses.length,
        ingressClassParams: s.ingressClassParams.length,
      },
      {
        ingresses: seeded.counts.ingresses,
        services: seeded.counts.services,
        endpointSlices: seeded.counts.endpointSlices,
        pods: seeded.counts.pods,
        nodes: 3,
        ingressClasses: 3,
        ingressClassParams: 1,
      },
    );
    // nothing outside the seeded namespaces is lost either (the apiserver's own "kubernetes" Service, …)
    assert.equal(s.services.length, await listCount("/api/v1/services"));
    assert.equal(s.endpointSlices.length, await listCount("/apis/discovery.k8s.io/v1/endpointslices"));
    assert.equal(s.pods.length, await listCount("/api/v1/pods"));
    assert.equal(s.ingresses.length, await listCount("/apis/networking.k8s.io/v1/ingresses"));
    assert.deepEqual(read.requests, {
      ingresses: 1,
      ingressclasses: 1,
      "ingressclassparams.elbv2.k8s.aws": 1,
      services: 1,
      endpointslices: 1,
      pods: 1,
      nodes: 1,
    });
  });

  test("objects keep the API's shape: nodePorts, annotations, providerIDs, pod IPs, class parameters", async () => {
    const { snapshot: s } = await readClusterSnapshot({ name: CLUSTER, kubeconfig });
    const svc = (key: string): Service | undefined =>
      s.services.find((x) => `${x.metadata.namespace}/${x.metadata.name}` === key);
    const checkout = svc("shop/checkout-nlb");
    assert.deepEqual(
      checkout?.spec?.ports?.map((p) => [p.name, p.port, p.targetPort, p.protocol, p.nodePort]),
      [
        ["https", 443, 8443, "TCP", seeded.nodePort("shop/checkout-nlb", "https")],
        ["http", 80, 8080, "TCP", seeded.nodePort("shop/checkout-nlb", "http")],
      ],
    );
    assert.equal(checkout?.spec?.loadBalancerClass, "service.k8s.aws/nlb");
    const dns = svc("payments/dns-udp");
    assert.equal(dns?.spec?.healthCheckNodePort, seeded.services["payments/dns-udp"]?.healthCheckNodePort);
    assert.equal(dns?.spec?.externalTrafficPolicy, "Local");
    assert.deepEqual(svc("platform/metrics-nlb")?.metadata.annotations, {
      "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
      "service.beta.kubernetes.io/aws-load-balancer-security-groups": "sg-0a1b2c3d4e5f60001",
      "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules": "true",
    });
    const cart = s.ingresses.find((i) => i.metadata.namespace === "shop" && i.metadata.name === "cart");
    assert.equal(cart?.spec?.ingressClassName, "alb");
    assert.deepEqual(cart?.metadata.annotations, { "alb.ingress.kubernetes.io/group.name": "shop" });
    assert.deepEqual(cart?.spec?.rules?.[0]?.http?.paths[0]?.backend.service, {
      name: "cart",
      port: { name: "http" },
    });
    assert.deepEqual(
      s.nodes.map((n) => [n.metadata.name, n.spec?.providerID]).sort(),
      seeded.nodes.map((n) => [n.name, `aws:///us-east-1a/${n.instanceId}`]).sort(),
    );
    for (const [key, p] of Object.entries(seeded.pods)) {
      const pod = s.pods.find((x) => `${x.metadata.namespace}/${x.metadata.name}` === key);
      assert.deepEqual(
        [pod?.spec?.nodeName, pod?.status?.podIP, pod?.status?.phase],
        [p.node, p.ip, "Running"],
      );
    }
    const internal = s.ingressClasses.find((c) => c.metadata.name === "alb-internal");
    assert.deepEqual(internal?.spec, {
      controller: "ingress.k8s.aws/alb",
      // the apiserver defaults the scope
      parameters: {
        apiGroup: "elbv2.k8s.aws",
        kind: "IngressClassParams",
        name: "internal",
        scope: "Cluster",
      },
    });
    assert.deepEqual(
      s.ingressClassParams.map((p) => [p.metadata.name, p.spec?.group?.name]),
      [["internal", "internal"]],
    );
  });
});

describe("pagination", () => {
  const ns = "read-paging";
  const total = 1203;
  before(async () => {
    const res = await sandbox.kubeRequest("POST", "/api/v1/namespaces", {
      // labelled like the seeder's, so a run that died half-way is cleaned by the next clearCluster
      metadata: { name: ns, labels: { [SEED_LABEL]: "read-test" } },
    });
    assert.equal(res.status, 201);
    await mapLimit(
      Array.from({ length: total }, (_, i) => `svc-${String(i).padStart(4, "0")}`),
      32,
      async (name) => {
        const r = await sandbox.kubeRequest("POST", `/api/v1/namespaces/${ns}/services`, {
          metadata: { name },
          spec: { type: "ClusterIP", ports: [{ port: 80 }] },
        });
        assert.equal(r.status, 201, `Service ${name}: ${JSON.stringify(r.body)}`);
      },
    );
  });
  after(async () => {
    await clearNamespaces(sandbox, [ns]);
  });

  test("1,203 Services in one namespace take exactly 3 requests of 500 and each comes back once", async () => {
    const read = await readClusterSnapshot({ name: CLUSTER, kubeconfig });
    const all = await listCount("/api/v1/services");
    assert.ok(all > 1000 && all <= 1500, `${all} Services in the cluster fit in 3 pages`);
    assert.equal(read.requests.services, 3);
    const ours = read.snapshot.services
      .filter((x) => x.metadata.namespace === ns)
      .map((x) => x.metadata.name);
    assert.equal(ours.length, total);
    assert.equal(new Set(ours).size, total);
    assert.equal(read.snapshot.services.length, all);
    assert.equal(read.requests.pods, 1);
  });
});

describe("kubeconfig input", () => {
  test("an unknown context lists the available contexts and not the token", async () => {
    const text = kubeconfigYaml({
      server: sandbox.info.kube.server,
      token: sandbox.info.kube.token,
      caPem: sandbox.info.kube.caPem,
      contexts: ["sandbox", "staging"],
    });
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text, context: "prod" }));
    assert.equal(
      msg,
      `cluster "${CLUSTER}": input cluster.context is "prod"; the kubeconfig has contexts "sandbox", "staging"`,
    );
    assert.ok(!msg.includes(sandbox.info.kube.token));
  });

  test("a known context that is not the current one is used", async () => {
    const text = kubeconfigYaml({
      server: sandbox.info.kube.server,
      token: sandbox.info.kube.token,
      caPem: sandbox.info.kube.caPem,
      contexts: ["broken", "sandbox"],
      brokenServer: "https://127.0.0.1:1",
    });
    const read = await readClusterSnapshot({ name: CLUSTER, kubeconfig: text, context: "sandbox" });
    assert.equal(read.server, sandbox.info.kube.server);
  });

  test("an empty kubeconfig gives the 'it is empty' error", async () => {
    for (const text of ["", "  \n\t\n"]) {
      assert.equal(
        await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text })),
        `cluster "${CLUSTER}": cannot load the kubeconfig (input cluster.kubeconfig): it is empty; expected a kubeconfig with a cluster, a user and a context`,
      );
    }
  });

  test("a corrupt kubeconfig gives the 'not valid kubeconfig YAML' error and never echoes the input", async () => {
    const secret = "s3cr3t-token-value";
    const corrupt = `apiVersion: v1\nusers:\n- name: u\n  user: {token: ${secret}\nclusters: [ {name: x\n`;
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: corrupt }));
    assert.equal(
      msg,
      `cluster "${CLUSTER}": cannot load the kubeconfig (input cluster.kubeconfig): it is not valid kubeconfig YAML; expected a kubeconfig with a cluster, a user and a context`,
    );
    assert.ok(!msg.includes(secret));
  });
  // A failing exec plugin (`aws eks get-token` …) can print credentials on stderr: never quote it.
  test("a failing exec credential plugin gives a ClusterReadError naming the cluster, not the plugin's output", async () => {
    const text = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      `  cluster: {server: "${sandbox.info.kube.server}"}`,
      "users:",
      "- name: u",
      "  user:",
      "    exec:",
      "      apiVersion: client.authentication.k8s.io/v1beta1",
      "      command: sh",
      `      args: ["-c", "echo plugin-secret-output >&2; exit 3"]`,
      "contexts:",
      "- name: c",
      "  context: {cluster: c, user: u}",
      "current-context: c",
      "",
    ].join("\n");
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text }));
    assert.match(msg, new RegExp(`^cluster "${CLUSTER}": `));
    assert.ok(!msg.includes("plugin-secret-output"));
  });
});

describe("API server failures", () => {
  test("an unreachable API server: the message names the cluster and the server URL, not the token", async () => {
    const port = await closedPort();
    const server = `https://127.0.0.1:${port}`;
    const token = "unreachable-secret-token";
    const text = kubeconfigYaml({ server, token, caPem: sandbox.info.kube.caPem });
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text }));
    assert.match(
      msg,
      new RegExp(
        `^cluster "${CLUSTER}": cannot reach the API server ${reEscape(server)} while listing [a-z0-9.]+: ECONNREFUSED; check the kubeconfig's server address`,
      ),
    );
    assert.ok(!msg.includes(token));
  });

  test("a wrong bearer token: HTTP 401 with the credentials hint, not the token", async () => {
    const token = "wrong-secret-token-0123456789";
    const text = kubeconfigYaml({ server: sandbox.info.kube.server, token, caPem: sandbox.info.kube.caPem });
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text }));
    assert.match(
      msg,
      new RegExp(
        `^cluster "${CLUSTER}": listing [a-z0-9.]+ on ${reEscape(sandbox.info.kube.server)} failed: HTTP 401 Unauthorized; check that the kubeconfig's credentials are valid and not expired$`,
      ),
    );
    assert.ok(!msg.includes(token));
  });

  test("an authenticated user without RBAC rights: HTTP 403 with the RBAC hint", async (t) => {
    const cert = clientCertificate("reader-without-rbac");
    if (!cert) {
      t.skip("the sandbox's CA key is not on this machine");
      return;
    }
    const text = kubeconfigYaml({ server: sandbox.info.kube.server, caPem: sandbox.info.kube.caPem, cert });
    const msg = await readError(readClusterSnapshot({ name: CLUSTER, kubeconfig: text }));
    assert.match(
      msg,
      new RegExp(
        `^cluster "${CLUSTER}": listing ([a-z0-9.]+) on ${reEscape(sandbox.info.kube.server)} failed: HTTP 403 .*"reader-without-rbac" cannot list resource .*; check that the kubeconfig's user may list \\1 in all namespaces \\(RBAC\\)$`,
      ),
    );
  });
});

describe("without the IngressClassParams CRD", () => {
  const crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  const crdName = "ingressclassparams.elbv2.k8s.aws";
  let crd: unknown;
  before(async () => {
    const got = await sandbox.kubeRequest("GET", `${crdPath}/${crdName}`);
    assert.equal(got.status, 200, "the sandbox installs the CRD");
    const { metadata, spec } = got.body as { metadata: { name: string }; spec: unknown };
    crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: metadata.name },
      spec,
    };
    const del = await sandbox.kubeRequest("DELETE", `${crdPath}/${crdName}`);
    assert.equal(del.status, 200);
    await until(
      async () =>
        (await sandbox.kubeRequest("GET", "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams")).status === 404,
    );
  });
  after(async () => {
    await until(async () => (await sandbox.kubeRequest("GET", `${crdPath}/${crdName}`)).status === 404);
    const res = await sandbox.kubeRequest("POST", crdPath, crd);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await until(
      async () =>
        (await sandbox.kubeRequest("GET", "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams")).status === 200,
    );
  });

  test("the reader returns no IngressClassParams and reads the other kinds", async () => {
    const read = await readClusterSnapshot({ name: CLUSTER, kubeconfig });
    assert.deepEqual(read.snapshot.ingressClassParams, []);
    assert.equal(read.requests["ingressclassparams.elbv2.k8s.aws"], 1);
    assert.equal(read.snapshot.services.length, await listCount("/api/v1/services"));
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** a loopback port nobody listens on (bound, then closed) */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A client certificate for `user` signed by the sandbox's CA (the apiserver trusts it for authentication). */
function clientCertificate(user: string): { certPem: string; keyPem: string } | undefined {
  const kubeDir = path.dirname(sandbox.info.kube.kubeconfigPath);
  const caKey = path.join(kubeDir, "ca.key");
  if (!fs.existsSync(caKey)) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-test-cert-"));
  try {
    const run = (args: string[]) =>
      execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    run([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "u.key",
      "-out",
      "u.csr",
      "-subj",
      `/CN=${user}`,
    ]);
    run([
      "x509",
      "-req",
      "-in",
      "u.csr",
      "-CA",
      path.join(kubeDir, "ca.crt"),
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-CAserial",
      path.join(dir, "ca.srl"),
      "-out",
      "u.crt",
      "-days",
      "1",
    ]);
    return {
      certPem: fs.readFileSync(path.join(dir, "u.crt"), "utf8"),
      keyPem: fs.readFileSync(path.join(dir, "u.key"), "utf8"),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
