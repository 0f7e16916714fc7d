// The scenario seeder against the sandbox: the small demo cluster lands in moto and the kube-apiserver exactly as
// declared, and clearCluster takes the Kubernetes side away again.
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { getSandbox, type Sandbox } from "./sandbox";
import {
  clearCluster,
  largeScenario,
  type Scenario,
  SEED_LABEL,
  type SeededCluster,
  seedScenario,
  smallDemoScenario,
} from "./seed";

let sandbox: Sandbox;
let ec2: EC2Client;
let seeded: SeededCluster;
const scenario = smallDemoScenario("demo");

before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  seeded = await seedScenario(sandbox, sandbox.info.motoUrl, scenario);
});
after(async () => {
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  ec2?.destroy();
  await sandbox.stop();
});

interface Item {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

async function list<T = Item>(apiPath: string): Promise<T[]> {
  const res = await sandbox.kubeRequest("GET", apiPath);
  assert.equal(res.status, 200, `GET ${apiPath}`);
  return (res.body as { items: T[] }).items;
}

const key = (i: Item) => `${i.metadata.namespace}/${i.metadata.name}`;
const inSeeded = (i: Item) => ["shop", "payments", "platform"].includes(i.metadata.namespace ?? "");

test("the small demo scenario creates exactly the declared Kubernetes objects", async () => {
  assert.deepEqual(seeded.counts, {
    namespaces: 3,
    nodes: 3,
    services: 16,
    pods: 8,
    endpointSlices: 5,
    ingresses: 12,
    ingressClasses: 3,
    ingressClassParams: 1,
  });
  const namespaces = await list(`/api/v1/namespaces?labelSelector=${encodeURIComponent(SEED_LABEL)}`);
  assert.deepEqual(namespaces.map((n) => n.metadata.name).sort(), ["payments", "platform", "shop"]);
  assert.equal((await list("/api/v1/nodes")).length, 3);
  assert.equal((await list("/api/v1/services")).filter(inSeeded).length, 16);
  assert.equal((await list("/api/v1/pods")).filter(inSeeded).length, 8);
  assert.equal((await list("/apis/discovery.k8s.io/v1/endpointslices")).filter(inSeeded).length, 5);
  const ingresses = (await list("/apis/networking.k8s.io/v1/ingresses")).filter(inSeeded);
  assert.equal(ingresses.length, 12);
  assert.deepEqual(ingresses.find((i) => key(i) === "payments/webhook")?.metadata.annotations, {
    "alb.ingress.kubernetes.io/security-groups": "sg-0a1b2c3d4e5f60005",
    "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "false",
  });
  assert.deepEqual(
    (await list("/apis/networking.k8s.io/v1/ingressclasses")).map((c) => c.metadata.name).sort(),
    ["alb", "alb-internal", "nginx"],
  );
  const params = await list<Item & { spec: unknown }>("/apis/elbv2.k8s.aws/v1beta1/ingressclassparams");
  assert.deepEqual(
    params.map((p) => [p.metadata.name, p.spec]),
    [["internal", { group: { name: "internal" } }]],
  );
});

test("nodes are Ready, carry the instance's providerID, and the not-ready flag is honoured", async () => {
  const nodes = await list<
    Item & { spec: { providerID: string }; status: { conditions: Array<{ type: string; status: string }> } }
  >("/api/v1/nodes");
  const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
  assert.deepEqual([...byName.keys()].sort(), ["batch-0", "general-0", "general-1"]);
  for (const n of seeded.nodes) {
    const node = byName.get(n.name);
    assert.equal(node?.spec.providerID, `aws:///us-east-1a/${n.instanceId}`);
    assert.deepEqual(
      node?.status.conditions.filter((c) => c.type === "Ready").map((c) => c.status),
      ["True"],
    );
  }
});

test("the apiserver allocated every nodePort, and the Local NLB a healthCheckNodePort", () => {
  const inRange = (p: number | undefined) => p !== undefined && p >= 30000 && p <= 32767;
  assert.deepEqual(Object.keys(seeded.services["shop/checkout-nlb"]?.nodePorts ?? {}).sort(), [
    "http",
    "https",
  ]);
  assert.ok(inRange(seeded.nodePort("shop/frontend", "http")));
  assert.ok(inRange(seeded.nodePort("payments/webhook", 8080)), "an unnamed port is keyed by its number");
  assert.ok(inRange(seeded.services["payments/dns-udp"]?.healthCheckNodePort));
  assert.deepEqual(seeded.services["shop/stream-nlb"]?.nodePorts, {}, "allocateLoadBalancerNodePorts: false");
  assert.deepEqual(seeded.services["shop/catalog"]?.nodePorts, {}, "ClusterIP");
  const all = Object.values(seeded.services).flatMap((s) => [
    ...Object.values(s.nodePorts),
    ...(s.healthCheckNodePort ? [s.healthCheckNodePort] : []),
  ]);
  assert.equal(all.length, 14);
  assert.equal(new Set(all).size, all.length, "nodePorts are unique");
  assert.ok(all.every(inRange));
});

test("EC2 holds one instance per node with the node group's SGs and the cluster tags", async () => {
  const res = await ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: "tag:eks:cluster-name", Values: ["demo"] }] }),
  );
  const instances = (res.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  assert.deepEqual(instances.map((i) => i.InstanceId).sort(), seeded.nodes.map((n) => n.instanceId).sort());
  const sg = seeded.securityGroupIds;
  for (const i of instances) {
    const node = seeded.nodes.find((n) => n.instanceId === i.InstanceId);
    const eni = i.NetworkInterfaces?.find((n) => n.NetworkInterfaceId === node?.eniId);
    const want =
      node?.group === "general" ? [sg["demo-node"], sg["demo-general-extra"]] : [sg["demo-batch-node"]];
    // moto does not keep the order of SecurityGroupIds
    assert.deepEqual(eni?.Groups?.map((g) => g.GroupId).sort(), want.sort());
    assert.ok(i.Tags?.some((t) => t.Key === "kubernetes.io/cluster/demo" && t.Value === "owned"));
  }
  assert.match(seeded.backendSecurityGroupId, /^sg-/);
});

test("every pod IP is a secondary IP on its node's primary ENI, and matches the pod and its EndpointSlice", async () => {
  const res = await ec2.send(
    new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: seeded.nodes.map((n) => n.eniId) }),
  );
  const ipsOf = new Map(
    (res.NetworkInterfaces ?? []).map((n) => [
      n.NetworkInterfaceId,
      (n.PrivateIpAddresses ?? []).filter((a) => !a.Primary).map((a) => a.PrivateIpAddress),
    ]),
  );
  const pods = await list<Item & { spec: { nodeName: string }; status: { podIP: string; phase: string } }>(
    "/api/v1/pods",
  );
  const podIps = Object.entries(seeded.pods);
  assert.equal(podIps.length, 8);
  assert.equal(new Set(podIps.map(([, p]) => p.ip)).size, 8, "pod IPs are unique");
  for (const [podKey, p] of podIps) {
    assert.ok(ipsOf.get(seeded.node(p.node).eniId)?.includes(p.ip), `${podKey} ${p.ip} on ${p.node}'s ENI`);
    const pod = pods.find((x) => key(x) === podKey);
    assert.deepEqual([pod?.spec.nodeName, pod?.status.podIP, pod?.status.phase], [p.node, p.ip, "Running"]);
  }
  const slices = await list<
    Item & { endpoints: Array<{ addresses: string[]; targetRef: { name: string } }>; ports: unknown[] }
  >("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices");
  const stream = slices.find((s) => s.metadata.name === "stream-nlb-seed");
  assert.deepEqual(
    stream?.endpoints.map((e) => [e.targetRef.name, e.addresses]),
    seeded.podsOf("shop/stream-nlb").map((k) => [k.split("/")[1], [seeded.pods[k]?.ip]]),
  );
  assert.deepEqual(stream?.ports, [{ name: "grpc", port: 50051, protocol: "TCP" }]);
});

test("a failing object is named in the error with the API's answer", async () => {
  const bad: Scenario = {
    ...smallDemoScenario("bad"),
    nodeGroups: [],
    ingressClasses: [],
    services: [],
    ingresses: [{ namespace: "shop", name: "Bad_Name", backends: [{ service: "x", port: 80 }] }],
  };
  await assert.rejects(seedScenario(sandbox, sandbox.info.motoUrl, bad), (err: Error) => {
    assert.match(err.message, /^seed: Ingress shop\/Bad_Name: POST .* answered HTTP 422: .*Bad_Name/);
    return true;
  });
});

test("largeScenario keeps nodePorts in the apiserver's range and is deterministic", () => {
  const opts = {
    ingresses: 2000,
    services: 2000,
    namespaces: 100,
    nodes: 50,
    nodeSecurityGroups: 5,
    clusterName: "b",
  };
  const s = largeScenario(opts);
  assert.deepEqual(s, largeScenario(opts));
  assert.equal(s.ingresses.length, 2000);
  assert.equal(s.services.length, 2000);
  assert.equal(s.namespaces.length, 100);
  assert.deepEqual(
    s.nodeGroups.map((g) => g.nodes),
    [10, 10, 10, 10, 10],
  );
  for (const ing of s.ingresses) {
    const backend = s.services.find((x) => x.name === ing.backends[0]?.service);
    assert.equal(backend?.namespace, ing.namespace);
  }
});

test("clearCluster leaves no seeded namespace, node, class or object behind", async () => {
  await clearCluster(sandbox);
  assert.deepEqual(await list(`/api/v1/namespaces?labelSelector=${encodeURIComponent(SEED_LABEL)}`), []);
  for (const ns of ["shop", "payments", "platform"]) {
    assert.equal((await sandbox.kubeRequest("GET", `/api/v1/namespaces/${ns}`)).status, 404, ns);
  }
  assert.deepEqual(await list("/api/v1/nodes"), []);
  assert.deepEqual(await list("/apis/networking.k8s.io/v1/ingressclasses"), []);
  assert.deepEqual(await list("/apis/elbv2.k8s.aws/v1beta1/ingressclassparams"), []);
  assert.deepEqual((await list("/api/v1/pods")).filter(inSeeded), []);
  assert.deepEqual((await list("/api/v1/services")).filter(inSeeded), []);
  assert.deepEqual((await list("/apis/discovery.k8s.io/v1/endpointslices")).filter(inSeeded), []);
  assert.deepEqual((await list("/apis/networking.k8s.io/v1/ingresses")).filter(inSeeded), []);
});
