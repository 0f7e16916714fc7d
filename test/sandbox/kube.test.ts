// Smoke test: the Kubernetes API in the sandbox is a real kube-apiserver (it allocates NodePorts, validates,
// and paginates lists with limit/continue).
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { getSandbox, type Sandbox } from "./sandbox";

let sandbox: Sandbox;
const ns = `smoke-${Date.now().toString(36)}`;
before(async () => {
  sandbox = await getSandbox();
  const res = await sandbox.kubeRequest("POST", "/api/v1/namespaces", { metadata: { name: ns } });
  assert.equal(res.status, 201);
});
after(async () => {
  await sandbox.kubeRequest("DELETE", `/api/v1/namespaces/${ns}`);
  await sandbox.stop();
});

interface ListBody {
  items: Array<{ metadata: { name: string } }>;
  metadata: { continue?: string };
}

test("a LoadBalancer Service gets a NodePort allocated by the apiserver", async () => {
  const res = await sandbox.kubeRequest("POST", `/api/v1/namespaces/${ns}/services`, {
    metadata: { name: "web" },
    spec: {
      type: "LoadBalancer",
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    },
  });
  assert.equal(res.status, 201);
  const port = (res.body as { spec: { ports: Array<{ nodePort?: number }> } }).spec.ports[0];
  assert.ok(
    port?.nodePort !== undefined && port.nodePort >= 30000 && port.nodePort <= 32767,
    `nodePort ${port?.nodePort}`,
  );
});

test("the apiserver rejects an invalid object (validation is real)", async () => {
  const res = await sandbox.kubeRequest("POST", `/api/v1/namespaces/${ns}/services`, {
    metadata: { name: "Bad_Name" },
    spec: { ports: [{ port: 80 }] },
  });
  assert.equal(res.status, 422);
});

test("1,200 ConfigMaps list in pages of 500 with continue tokens", async () => {
  const total = 1200;
  const names = Array.from({ length: total }, (_, i) => `cm-${String(i).padStart(4, "0")}`);
  // bounded concurrency: fast, without flooding the apiserver
  for (let i = 0; i < names.length; i += 50) {
    const batch = names.slice(i, i + 50);
    const results = await Promise.all(
      batch.map((name) =>
        sandbox.kubeRequest("POST", `/api/v1/namespaces/${ns}/configmaps`, {
          metadata: { name },
          data: { k: "v" },
        }),
      ),
    );
    for (const r of results) assert.equal(r.status, 201);
  }
  const pages: number[] = [];
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ limit: "500" });
    if (token) q.set("continue", token);
    const res = await sandbox.kubeRequest("GET", `/api/v1/namespaces/${ns}/configmaps?${q}`);
    assert.equal(res.status, 200);
    const body = res.body as ListBody;
    pages.push(body.items.length);
    seen.push(...body.items.map((i) => i.metadata.name));
    token = body.metadata.continue || undefined;
  } while (token);
  // kube-root-ca.crt is not created without the controller manager, so exactly our 1,200 are listed
  assert.deepEqual(pages, [500, 500, 200]);
  assert.deepEqual(seen, names);
});
