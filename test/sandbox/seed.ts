// Scenario seeder: a declarative cluster description in, real objects out — EC2 resources in moto (through the
// AWS SDK v3) and Kubernetes objects in the sandbox's kube-apiserver. Used by integration tests, end-to-end tests,
// the demo and benchmarks. Names are deterministic; creation runs with bounded concurrency.
import {
  AssignPrivateIpAddressesCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag,
} from "@aws-sdk/client-ec2";
import type { SandboxInfo } from "./sandbox";

// ---- scenario ----

export interface ScenarioSecurityGroup {
  name: string;
  /** tagged kubernetes.io/cluster/<clusterName>=owned */
  clusterTag: boolean;
}

export interface ScenarioNodeGroup {
  name: string;
  nodes: number;
  /** SGs on the nodes' primary ENI */
  securityGroups: ScenarioSecurityGroup[];
  labels?: Record<string, string>;
  notReady?: boolean;
}

export interface ScenarioServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: "TCP" | "UDP";
}

export interface ScenarioContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface ScenarioService {
  namespace: string;
  name: string;
  ports: ScenarioServicePort[];
  /** default "LoadBalancer" when loadBalancerClass is set, else "NodePort" */
  type?: "LoadBalancer" | "NodePort" | "ClusterIP";
  annotations?: Record<string, string>;
  loadBalancerClass?: string;
  externalTrafficPolicy?: "Local" | "Cluster";
  /** LoadBalancer only: false = no nodePorts (ip-target NLBs need none) */
  allocateLoadBalancerNodePorts?: boolean;
  /** ip targets: ready pods with these container ports, placed round-robin on ready nodes, plus an EndpointSlice */
  pods?: { count: number; containerPorts: ScenarioContainerPort[] };
}

export interface ScenarioIngress {
  namespace: string;
  name: string;
  className?: string;
  annotations?: Record<string, string>;
  backends: Array<{ service: string; port: number | string }>;
}

export interface ScenarioIngressClass {
  name: string;
  controller: string;
  isDefault?: boolean;
  /** an IngressClassParams object (elbv2.k8s.aws/v1beta1) referenced by the class */
  params?: { name: string; groupName?: string };
}

export interface Scenario {
  clusterName: string;
  namespaces: string[];
  nodeGroups: ScenarioNodeGroup[];
  services: ScenarioService[];
  ingresses: ScenarioIngress[];
  ingressClasses?: ScenarioIngressClass[];
  /** default true: a SG tagged elbv2.k8s.aws/cluster=<name>, elbv2.k8s.aws/resource=backend-sg */
  backendSecurityGroup?: boolean;
}

// ---- result ----

export interface SeededNode {
  name: string;
  instanceId: string;
  eniId: string;
  privateIp: string;
  group: string;
}

export interface SeededService {
  /** port name (or String(port) when unnamed) -> allocated nodePort */
  nodePorts: Record<string, number>;
  healthCheckNodePort?: number;
}

export interface SeededCounts {
  namespaces: number;
  nodes: number;
  services: number;
  pods: number;
  endpointSlices: number;
  ingresses: number;
  ingressClasses: number;
  ingressClassParams: number;
}

export interface SeededCluster {
  clusterName: string;
  vpcId: string;
  subnetId: string;
  /** "" when the scenario has backendSecurityGroup: false */
  backendSecurityGroupId: string;
  /** by scenario SG name */
  securityGroupIds: Record<string, string>;
  nodes: SeededNode[];
  /** by "ns/name" */
  services: Record<string, SeededService>;
  /** by "ns/name" */
  pods: Record<string, { ip: string; node: string }>;
  /** objects created per kind */
  counts: SeededCounts;
  /** the allocated nodePort of a Service port (by name or number); throws when there is none */
  nodePort(service: string, port: string | number): number;
  node(name: string): SeededNode;
  /** the pods ("ns/name") behind a Service ("ns/name") */
  podsOf(service: string): string[];
}

export interface SeedSandbox {
  info: SandboxInfo;
  kubeRequest(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export interface SeedOptions {
  onProgress?: (msg: string) => void;
  /** requests in flight against the apiserver (default 32) */
  concurrency?: number;
}

/** Label put on every namespace the seeder creates or uses; clearCluster empties exactly these. */
export const SEED_LABEL = "lbc-backend-sg.test/seeded";
export const ZONE = "us-east-1a";
export const LBC_NLB_CLASS = "service.k8s.aws/nlb";
export const ALB_CONTROLLER = "ingress.k8s.aws/alb";
const PARAMS_PATH = "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams";

// ---- small helpers ----

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function apiMessage(body: unknown): string {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    return body.message;
  }
  return typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300);
}

type KubeRequest = SeedSandbox["kubeRequest"];

/** One request that must answer one of `ok`; otherwise an error naming the object and the API's answer. */
async function kube(
  request: KubeRequest,
  what: string,
  method: string,
  apiPath: string,
  body: unknown,
  ok: number[],
): Promise<{ status: number; body: unknown }> {
  let res: { status: number; body: unknown };
  try {
    res = await request(method, apiPath, body);
  } catch (err) {
    throw new Error(
      `seed: ${what}: ${method} ${apiPath} failed: ${err instanceof Error ? err.message : err}`,
    );
  }
  if (!ok.includes(res.status)) {
    throw new Error(
      `seed: ${what}: ${method} ${apiPath} answered HTTP ${res.status}: ${apiMessage(res.body)}`,
    );
  }
  return res;
}

function ec2Error(what: string, err: unknown): Error {
  const e = err as { name?: string; message?: string };
  return new Error(`seed: ${what} failed: ${e.name ?? "Error"}: ${e.message ?? String(err)}`);
}

async function ec2Call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ec2Error(what, err);
  }
}

function tags(record: Record<string, string>): Tag[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

function serviceType(s: ScenarioService): "LoadBalancer" | "NodePort" | "ClusterIP" {
  return s.type ?? (s.loadBalancerClass !== undefined ? "LoadBalancer" : "NodePort");
}

/** The numeric port a Service port sends to, on a pod with these container ports. */
function resolveTargetPort(p: ScenarioServicePort, containerPorts: ScenarioContainerPort[]): number {
  if (typeof p.targetPort === "number") return p.targetPort;
  if (p.targetPort === undefined) return p.port;
  const named = containerPorts.find((c) => c.name === p.targetPort);
  if (!named) throw new Error(`seed: targetPort "${p.targetPort}" names no container port`);
  return named.containerPort;
}

function podName(service: string, i: number): string {
  return `${service}-pod-${i}`;
}

/** Fails early, with the object's name, on scenarios the apiserver or EC2 would reject half-way through. */
function validate(s: Scenario): void {
  const nss = new Set(s.namespaces);
  const seen = new Set<string>();
  for (const svc of s.services) {
    const key = `${svc.namespace}/${svc.name}`;
    if (!nss.has(svc.namespace))
      throw new Error(`seed: Service ${key}: namespace not in scenario.namespaces`);
    if (seen.has(key)) throw new Error(`seed: Service ${key} appears twice`);
    seen.add(key);
    if (svc.pods) for (const p of svc.ports) resolveTargetPort(p, svc.pods.containerPorts);
  }
  for (const ing of s.ingresses) {
    if (!nss.has(ing.namespace)) {
      throw new Error(`seed: Ingress ${ing.namespace}/${ing.name}: namespace not in scenario.namespaces`);
    }
  }
  const podCount = s.services.reduce((n, svc) => n + (svc.pods?.count ?? 0), 0);
  if (podCount > 0 && !s.nodeGroups.some((g) => g.nodes > 0))
    throw new Error("seed: pods need at least one node");
}

// ---- seeding ----

export async function seedScenario(
  sandbox: SeedSandbox,
  ec2Endpoint: string,
  scenario: Scenario,
  opts: SeedOptions = {},
): Promise<SeededCluster> {
  validate(scenario);
  const progress = opts.onProgress ?? (() => {});
  const limit = opts.concurrency ?? 32;
  const request = sandbox.kubeRequest;
  const cluster = scenario.clusterName;
  const clusterTagKey = `kubernetes.io/cluster/${cluster}`;
  let created = 0;
  const tick = (): void => {
    created++;
    if (created % 500 === 0) progress(`${created} objects created`);
  };

  const ec2 = new EC2Client({
    endpoint: ec2Endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    // ---- EC2: network, security groups, instances ----
    progress("EC2: VPC, subnet, security groups");
    const vpc = await ec2Call(`CreateVpc for cluster ${cluster}`, () =>
      ec2.send(
        new CreateVpcCommand({
          CidrBlock: "10.0.0.0/16",
          TagSpecifications: [
            { ResourceType: "vpc", Tags: tags({ Name: cluster, [clusterTagKey]: "owned" }) },
          ],
        }),
      ),
    );
    const vpcId = vpc.Vpc?.VpcId ?? "";
    const subnet = await ec2Call(`CreateSubnet in ${vpcId}`, () =>
      ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: "10.0.0.0/16",
          AvailabilityZone: ZONE,
          TagSpecifications: [
            { ResourceType: "subnet", Tags: tags({ Name: `${cluster}-${ZONE}`, [clusterTagKey]: "owned" }) },
          ],
        }),
      ),
    );
    const subnetId = subnet.Subnet?.SubnetId ?? "";

    const sgDefs = new Map<string, ScenarioSecurityGroup>();
    for (const g of scenario.nodeGroups) {
      for (const sg of g.securityGroups) {
        const prev = sgDefs.get(sg.name);
        if (prev && prev.clusterTag !== sg.clusterTag) {
          throw new Error(`seed: security group "${sg.name}" is declared with and without the cluster tag`);
        }
        sgDefs.set(sg.name, sg);
      }
    }
    const createSg = async (
      name: string,
      description: string,
      t: Record<string, string>,
    ): Promise<string> => {
      const res = await ec2Call(`CreateSecurityGroup "${name}"`, () =>
        ec2.send(
          new CreateSecurityGroupCommand({
            GroupName: name,
            Description: description,
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: "security-group", Tags: tags({ Name: name, ...t }) }],
          }),
        ),
      );
      return res.GroupId ?? "";
    };
    const securityGroupIds: Record<string, string> = {};
    await mapLimit([...sgDefs.values()], 8, async (sg) => {
      securityGroupIds[sg.name] = await createSg(
        sg.name,
        `node security group ${sg.name}`,
        sg.clusterTag ? { [clusterTagKey]: "owned" } : {},
      );
    });
    let backendSecurityGroupId = "";
    if (scenario.backendSecurityGroup !== false) {
      backendSecurityGroupId = await createSg(
        `k8s-traffic-${cluster}`,
        "[k8s] Shared Backend SecurityGroup for LoadBalancer",
        {
          "elbv2.k8s.aws/cluster": cluster,
          "elbv2.k8s.aws/resource": "backend-sg",
        },
      );
    }

    const nodes: SeededNode[] = [];
    const withNodes = scenario.nodeGroups.filter((g) => g.nodes > 0);
    if (withNodes.length > 0) {
      progress("EC2: instances");
      // moto has ~1,300 images: a name filter answers in milliseconds, the full list takes about a second
      let images = await ec2Call("DescribeImages", () =>
        ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: ["amzn2-ami-hvm-*"] }] })),
      );
      if (!images.Images?.length)
        images = await ec2Call("DescribeImages", () => ec2.send(new DescribeImagesCommand({})));
      const imageId = images.Images?.[0]?.ImageId;
      if (!imageId) throw new Error("seed: DescribeImages returned no image");
      const groups = await mapLimit(withNodes, 8, async (g) => {
        const res = await ec2Call(`RunInstances for node group "${g.name}" (${g.nodes} nodes)`, () =>
          ec2.send(
            new RunInstancesCommand({
              ImageId: imageId,
              InstanceType: "m5.large",
              MinCount: g.nodes,
              MaxCount: g.nodes,
              SubnetId: subnetId,
              SecurityGroupIds: g.securityGroups.map((sg) => securityGroupIds[sg.name] ?? ""),
              TagSpecifications: [
                {
                  ResourceType: "instance",
                  Tags: tags({
                    [clusterTagKey]: "owned",
                    "eks:cluster-name": cluster,
                    "eks:nodegroup-name": g.name,
                  }),
                },
              ],
            }),
          ),
        );
        const instances = res.Instances ?? [];
        if (instances.length !== g.nodes) {
          throw new Error(
            `seed: RunInstances for node group "${g.name}" returned ${instances.length} of ${g.nodes}`,
          );
        }
        return instances.map((inst, i): SeededNode => {
          const eni =
            inst.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0) ??
            inst.NetworkInterfaces?.[0];
          return {
            name: `${g.name}-${i}`,
            instanceId: inst.InstanceId ?? "",
            eniId: eni?.NetworkInterfaceId ?? "",
            privateIp: inst.PrivateIpAddress ?? "",
            group: g.name,
          };
        });
      });
      nodes.push(...groups.flat());
    }
    const groupOf = new Map(scenario.nodeGroups.map((g) => [g.name, g]));

    // ---- pods: placement and IPs (secondary IPs on the node's primary ENI, like the VPC CNI) ----
    const readyNodes = nodes.filter((n) => !groupOf.get(n.group)?.notReady);
    const placementNodes = readyNodes.length > 0 ? readyNodes : nodes;
    interface PodPlan {
      namespace: string;
      name: string;
      service: ScenarioService;
      node: SeededNode;
      ip: string;
    }
    const podPlans: PodPlan[] = [];
    let rr = 0;
    for (const svc of scenario.services) {
      for (let i = 0; i < (svc.pods?.count ?? 0); i++) {
        const node = placementNodes[rr++ % placementNodes.length] as SeededNode;
        podPlans.push({ namespace: svc.namespace, name: podName(svc.name, i), service: svc, node, ip: "" });
      }
    }
    if (podPlans.length > 0) {
      progress(`EC2: ${podPlans.length} pod IPs`);
      const perEni = new Map<string, PodPlan[]>();
      for (const p of podPlans) perEni.set(p.node.eniId, [...(perEni.get(p.node.eniId) ?? []), p]);
      const eniIds = [...perEni.keys()];
      const before = await describeIps(ec2, eniIds);
      await mapLimit(eniIds, 8, (eniId) =>
        ec2Call(`AssignPrivateIpAddresses on ${eniId}`, () =>
          ec2.send(
            new AssignPrivateIpAddressesCommand({
              NetworkInterfaceId: eniId,
              SecondaryPrivateIpAddressCount: perEni.get(eniId)?.length ?? 0,
            }),
          ),
        ),
      );
      const after = await describeIps(ec2, eniIds);
      for (const [eniId, plans] of perEni) {
        const old = new Set(before.get(eniId) ?? []);
        const fresh = (after.get(eniId) ?? []).filter((ip) => !old.has(ip));
        if (fresh.length !== plans.length) {
          throw new Error(`seed: ${eniId} got ${fresh.length} new private IPs, asked for ${plans.length}`);
        }
        plans.forEach((p, i) => {
          p.ip = fresh[i] as string;
        });
      }
    }

    // ---- Kubernetes ----
    progress(`Kubernetes: ${scenario.namespaces.length} namespaces, ${nodes.length} nodes, classes`);
    await mapLimit(scenario.namespaces, limit, async (ns) => {
      const res = await kube(
        request,
        `Namespace ${ns}`,
        "POST",
        "/api/v1/namespaces",
        { metadata: { name: ns, labels: { [SEED_LABEL]: cluster } } },
        [201, 409],
      );
      if (res.status === 409) {
        await kube(
          request,
          `Namespace ${ns}`,
          "PATCH",
          `/api/v1/namespaces/${ns}`,
          { metadata: { labels: { [SEED_LABEL]: cluster } } },
          [200],
        );
      }
      tick();
    });

    const classes = scenario.ingressClasses ?? [];
    await mapLimit(
      classes.filter((c) => c.params),
      limit,
      async (c) => {
        const params = c.params as { name: string; groupName?: string };
        await kube(
          request,
          `IngressClassParams ${params.name}`,
          "POST",
          PARAMS_PATH,
          {
            apiVersion: "elbv2.k8s.aws/v1beta1",
            kind: "IngressClassParams",
            metadata: { name: params.name },
            spec: params.groupName !== undefined ? { group: { name: params.groupName } } : {},
          },
          [201],
        );
        tick();
      },
    );
    await mapLimit(classes, limit, async (c) => {
      await kube(
        request,
        `IngressClass ${c.name}`,
        "POST",
        "/apis/networking.k8s.io/v1/ingressclasses",
        {
          metadata: {
            name: c.name,
            ...(c.isDefault
              ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } }
              : {}),
          },
          spec: {
            controller: c.controller,
            ...(c.params
              ? { parameters: { apiGroup: "elbv2.k8s.aws", kind: "IngressClassParams", name: c.params.name } }
              : {}),
          },
        },
        [201],
      );
      tick();
    });

    await mapLimit(nodes, limit, async (n) => {
      const group = groupOf.get(n.group) as ScenarioNodeGroup;
      const what = `Node ${n.name}`;
      await kube(
        request,
        what,
        "POST",
        "/api/v1/nodes",
        {
          metadata: {
            name: n.name,
            labels: {
              "kubernetes.io/hostname": n.name,
              "kubernetes.io/os": "linux",
              "topology.kubernetes.io/zone": ZONE,
              "eks.amazonaws.com/nodegroup": n.group,
              ...group.labels,
            },
          },
          spec: { providerID: `aws:///${ZONE}/${n.instanceId}` },
        },
        [201],
      );
      const ready = group.notReady ? "False" : "True";
      await kube(
        request,
        `${what} status`,
        "PATCH",
        `/api/v1/nodes/${n.name}/status`,
        {
          status: {
            conditions: [
              {
                type: "Ready",
                status: ready,
                reason: group.notReady ? "KubeletNotReady" : "KubeletReady",
                message: "seeded",
                lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
                lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
              },
            ],
            addresses: [
              { type: "InternalIP", address: n.privateIp },
              { type: "Hostname", address: n.name },
            ],
          },
        },
        [200],
      );
      tick();
    });

    // Services, pods, EndpointSlices and Ingresses do not depend on each other: create them side by side (the
    // apiserver serializes nodePort and clusterIP allocation, so Services alone cannot use the connections).
    progress(
      `Kubernetes: ${scenario.services.length} services, ${podPlans.length} pods, ${scenario.ingresses.length} ingresses`,
    );
    const services: Record<string, SeededService> = {};
    const servicesPhase = mapLimit(scenario.services, limit, async (svc) => {
      const key = `${svc.namespace}/${svc.name}`;
      const type = serviceType(svc);
      const res = await kube(
        request,
        `Service ${key}`,
        "POST",
        `/api/v1/namespaces/${svc.namespace}/services`,
        {
          metadata: { name: svc.name, ...(svc.annotations ? { annotations: svc.annotations } : {}) },
          spec: {
            type,
            selector: { app: svc.name },
            ports: svc.ports.map((p) => ({
              ...(p.name !== undefined ? { name: p.name } : {}),
              port: p.port,
              protocol: p.protocol ?? "TCP",
              ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
            })),
            ...(svc.loadBalancerClass !== undefined ? { loadBalancerClass: svc.loadBalancerClass } : {}),
            ...(svc.externalTrafficPolicy !== undefined
              ? { externalTrafficPolicy: svc.externalTrafficPolicy }
              : {}),
            ...(svc.allocateLoadBalancerNodePorts !== undefined
              ? { allocateLoadBalancerNodePorts: svc.allocateLoadBalancerNodePorts }
              : {}),
          },
        },
        [201],
      );
      const spec = (
        res.body as {
          spec?: {
            ports?: Array<{ name?: string; port: number; nodePort?: number }>;
            healthCheckNodePort?: number;
          };
        }
      ).spec;
      const nodePorts: Record<string, number> = {};
      for (const p of spec?.ports ?? []) {
        if (p.nodePort !== undefined) nodePorts[p.name ? p.name : String(p.port)] = p.nodePort;
      }
      services[key] = {
        nodePorts,
        ...(spec?.healthCheckNodePort !== undefined ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
      };
      tick();
    });

    const pods: Record<string, { ip: string; node: string }> = {};
    const started = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const podsPhase = mapLimit(podPlans, limit, async (p) => {
      const key = `${p.namespace}/${p.name}`;
      const containerPorts = p.service.pods?.containerPorts ?? [];
      await kube(
        request,
        `Pod ${key}`,
        "POST",
        `/api/v1/namespaces/${p.namespace}/pods`,
        {
          metadata: { name: p.name, labels: { app: p.service.name } },
          spec: {
            nodeName: p.node.name,
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: "app",
                image: "registry.k8s.io/pause:3.10",
                ports: containerPorts.map((c) => ({
                  ...(c.name !== undefined ? { name: c.name } : {}),
                  containerPort: c.containerPort,
                  protocol: c.protocol ?? "TCP",
                })),
              },
            ],
          },
        },
        [201],
      );
      await kube(
        request,
        `Pod ${key} status`,
        "PATCH",
        `/api/v1/namespaces/${p.namespace}/pods/${p.name}/status`,
        {
          status: {
            phase: "Running",
            hostIP: p.node.privateIp,
            podIP: p.ip,
            podIPs: [{ ip: p.ip }],
            startTime: started,
            conditions: [
              { type: "Initialized", status: "True", lastTransitionTime: started },
              { type: "ContainersReady", status: "True", lastTransitionTime: started },
              { type: "Ready", status: "True", lastTransitionTime: started },
              { type: "PodScheduled", status: "True", lastTransitionTime: started },
            ],
          },
        },
        [200],
      );
      pods[key] = { ip: p.ip, node: p.node.name };
      tick();
    });

    const withPods = scenario.services.filter((s) => (s.pods?.count ?? 0) > 0);
    const slicesPhase = mapLimit(withPods, limit, async (svc) => {
      const key = `${svc.namespace}/${svc.name}`;
      const plans = podPlans.filter((p) => p.service === svc);
      const containerPorts = svc.pods?.containerPorts ?? [];
      await kube(
        request,
        `EndpointSlice for Service ${key}`,
        "POST",
        `/apis/discovery.k8s.io/v1/namespaces/${svc.namespace}/endpointslices`,
        {
          metadata: {
            name: `${svc.name}-seed`,
            labels: {
              "kubernetes.io/service-name": svc.name,
              "endpointslice.kubernetes.io/managed-by": "seed.lbc-backend-sg.test",
            },
          },
          addressType: "IPv4",
          endpoints: plans.map((p) => ({
            addresses: [p.ip],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: p.node.name,
            zone: ZONE,
            targetRef: { kind: "Pod", namespace: p.namespace, name: p.name },
          })),
          ports: svc.ports.map((p) => ({
            name: p.name ?? "",
            port: resolveTargetPort(p, containerPorts),
            protocol: p.protocol ?? "TCP",
          })),
        },
        [201],
      );
      tick();
    });

    const ingressesPhase = mapLimit(scenario.ingresses, limit, async (ing) => {
      const key = `${ing.namespace}/${ing.name}`;
      await kube(
        request,
        `Ingress ${key}`,
        "POST",
        `/apis/networking.k8s.io/v1/namespaces/${ing.namespace}/ingresses`,
        {
          metadata: { name: ing.name, ...(ing.annotations ? { annotations: ing.annotations } : {}) },
          spec: {
            ...(ing.className !== undefined ? { ingressClassName: ing.className } : {}),
            rules: [
              {
                host: `${ing.name}.${ing.namespace}.example.com`,
                http: {
                  paths: ing.backends.map((b, i) => ({
                    path: `/${b.service}/${i}`,
                    pathType: "Prefix",
                    backend: {
                      service: {
                        name: b.service,
                        port: typeof b.port === "number" ? { number: b.port } : { name: b.port },
                      },
                    },
                  })),
                },
              },
            ],
          },
        },
        [201],
      );
      tick();
    });
    await Promise.all([servicesPhase, podsPhase, slicesPhase, ingressesPhase]);
    progress(`done: ${created} Kubernetes objects`);

    const counts: SeededCounts = {
      namespaces: scenario.namespaces.length,
      nodes: nodes.length,
      services: scenario.services.length,
      pods: podPlans.length,
      endpointSlices: withPods.length,
      ingresses: scenario.ingresses.length,
      ingressClasses: classes.length,
      ingressClassParams: classes.filter((c) => c.params).length,
    };
    const podsByService = new Map<string, string[]>();
    for (const p of podPlans) {
      const svcKey = `${p.namespace}/${p.service.name}`;
      podsByService.set(svcKey, [...(podsByService.get(svcKey) ?? []), `${p.namespace}/${p.name}`]);
    }
    return {
      clusterName: cluster,
      vpcId,
      subnetId,
      backendSecurityGroupId,
      securityGroupIds,
      nodes,
      services,
      pods,
      counts,
      nodePort(service, port) {
        const s = services[service];
        if (!s) throw new Error(`seed: no seeded Service ${service}`);
        const np = s.nodePorts[String(port)];
        if (np === undefined) {
          throw new Error(
            `seed: Service ${service} has no nodePort for port ${port} (has ${Object.keys(s.nodePorts).join(", ") || "none"})`,
          );
        }
        return np;
      },
      node(name) {
        const n = nodes.find((x) => x.name === name);
        if (!n) throw new Error(`seed: no seeded node ${name}`);
        return n;
      },
      podsOf(service) {
        return podsByService.get(service) ?? [];
      },
    };
  } finally {
    ec2.destroy();
  }
}

/** ENI id -> its private IPs (primary first, then as EC2 lists them). */
async function describeIps(ec2: EC2Client, eniIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < eniIds.length; i += 200) {
    const batch = eniIds.slice(i, i + 200);
    const res = await ec2Call(`DescribeNetworkInterfaces (${batch.length} ENIs)`, () =>
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: batch })),
    );
    for (const ni of res.NetworkInterfaces ?? []) {
      out.set(
        ni.NetworkInterfaceId ?? "",
        (ni.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress ?? ""),
      );
    }
  }
  return out;
}

// ---- clearing ----

interface NamedList {
  items?: Array<{ metadata?: { name?: string } }>;
}

async function names(request: KubeRequest, what: string, apiPath: string): Promise<string[]> {
  const res = await kube(request, what, "GET", apiPath, undefined, [200, 404]);
  if (res.status === 404) return [];
  return ((res.body as NamedList).items ?? []).map((i) => i.metadata?.name ?? "");
}

const NAMESPACED = [
  { kind: "Ingress", path: "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses" },
  { kind: "EndpointSlice", path: "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices" },
  { kind: "Service", path: "/api/v1/namespaces/{ns}/services" },
  { kind: "Pod", path: "/api/v1/namespaces/{ns}/pods" },
  { kind: "ConfigMap", path: "/api/v1/namespaces/{ns}/configmaps" },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deletes what seeders made: every namespace labelled SEED_LABEL (its objects first: without a controller manager
 * nothing else would; default and kube-* are emptied but kept), all Nodes, IngressClasses and IngressClassParams.
 * Returns once they are gone. EC2 is left alone: call the sandbox's resetEc2().
 */
export async function clearCluster(sandbox: Pick<SeedSandbox, "kubeRequest">): Promise<void> {
  const request = sandbox.kubeRequest;
  const namespaces = await names(
    request,
    "list seeded namespaces",
    `/api/v1/namespaces?labelSelector=${encodeURIComponent(SEED_LABEL)}`,
  );
  await clearNamespaces(sandbox, namespaces);
  for (const [what, path] of [
    ["Node", "/api/v1/nodes"],
    ["IngressClass", "/apis/networking.k8s.io/v1/ingressclasses"],
    ["IngressClassParams", PARAMS_PATH],
  ] as const) {
    await kube(request, `delete all ${what}s`, "DELETE", path, undefined, [200, 404]);
    await waitGone(request, `${what}s`, path);
  }
}

/** Empties the given namespaces (pods without grace), deletes them, finalizes them, and waits until gone. */
export async function clearNamespaces(
  sandbox: Pick<SeedSandbox, "kubeRequest">,
  namespaces: string[],
): Promise<void> {
  const request = sandbox.kubeRequest;
  await mapLimit(namespaces, 16, async (ns) => {
    for (const k of NAMESPACED) {
      const path = k.path.replace("{ns}", ns);
      // deletecollection (the 1.34 apiserver serves it for Services too; 405 falls back to one by one); pods go
      // at once with gracePeriodSeconds=0
      const q = k.kind === "Pod" ? "?gracePeriodSeconds=0" : "";
      // in default, the apiserver's own Service "kubernetes" stays
      const keep = ns === "default" && k.kind === "Service" ? ["kubernetes"] : [];
      const res = keep.length > 0 ? { status: 405, body: "" } : await request("DELETE", path + q);
      if (res.status === 405) {
        const each = (await names(request, `list ${k.kind}s in ${ns}`, path)).filter(
          (n) => !keep.includes(n),
        );
        await mapLimit(each, 16, (n) =>
          kube(
            request,
            `delete ${k.kind} ${ns}/${n}`,
            "DELETE",
            `${path}/${n}${q}`,
            undefined,
            [200, 202, 404],
          ),
        );
      } else if (res.status !== 200 && res.status !== 404) {
        throw new Error(`seed: delete ${k.kind}s in ${ns}: HTTP ${res.status}: ${apiMessage(res.body)}`);
      }
      await waitGone(request, `${k.kind}s in ${ns}`, path, keep);
    }
    if (ns === "default" || ns.startsWith("kube-")) {
      await kube(
        request,
        `unlabel Namespace ${ns}`,
        "PATCH",
        `/api/v1/namespaces/${ns}`,
        { metadata: { labels: { [SEED_LABEL]: null } } },
        [200],
      );
      return;
    }
    await kube(
      request,
      `delete Namespace ${ns}`,
      "DELETE",
      `/api/v1/namespaces/${ns}`,
      undefined,
      [200, 202, 404],
    );
    // Without the namespace controller, the namespace stays Terminating until its finalizers are removed.
    for (let i = 0; i < 100; i++) {
      const got = await request("GET", `/api/v1/namespaces/${ns}`);
      if (got.status === 404) return;
      const body = got.body as { metadata?: { name?: string }; spec?: { finalizers?: string[] } };
      if ((body.spec?.finalizers ?? []).length > 0) {
        await kube(
          request,
          `finalize Namespace ${ns}`,
          "PUT",
          `/api/v1/namespaces/${ns}/finalize`,
          { ...body, spec: { ...body.spec, finalizers: [] } },
          [200, 404, 409],
        );
      }
      await sleep(50);
    }
    throw new Error(`seed: Namespace ${ns} is still there after deleting it and clearing its finalizers`);
  });
}

async function waitGone(
  request: KubeRequest,
  what: string,
  path: string,
  keep: string[] = [],
): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const left = await names(request, `list ${what}`, keep.length > 0 ? path : `${path}?limit=1`);
    if (left.every((n) => keep.includes(n))) return;
    await sleep(50);
  }
  throw new Error(`seed: ${what} still exist 10 s after deleting them`);
}

// ---- scenarios ----

const A = {
  groupName: "alb.ingress.kubernetes.io/group.name",
  targetType: "alb.ingress.kubernetes.io/target-type",
  securityGroups: "alb.ingress.kubernetes.io/security-groups",
  manage: "alb.ingress.kubernetes.io/manage-backend-security-group-rules",
  ingressClass: "kubernetes.io/ingress.class",
};
const S = {
  type: "service.beta.kubernetes.io/aws-load-balancer-type",
  targetType: "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
  securityGroups: "service.beta.kubernetes.io/aws-load-balancer-security-groups",
  manage: "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules",
  healthCheckPort: "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port",
};

/**
 * A realistic small cluster: 3 namespaces, 12 Ingresses (two groups, an opt-out, explicit frontend SGs with the
 * manage annotation, ip targets, a legacy class annotation, one for another controller), 6 LoadBalancer Services
 * (5 NLBs through the LBC — instance and ip targets, one UDP — and one in-tree), 3 nodes in 2 node groups.
 */
export function smallDemoScenario(clusterName: string): Scenario {
  const http = (targetPort: number | string = 8080): ScenarioServicePort => ({
    name: "http",
    port: 80,
    targetPort,
  });
  return {
    clusterName,
    namespaces: ["shop", "payments", "platform"],
    nodeGroups: [
      {
        name: "general",
        nodes: 2,
        // two SGs on the ENI: exactly one carries the cluster tag
        securityGroups: [
          { name: `${clusterName}-node`, clusterTag: true },
          { name: `${clusterName}-general-extra`, clusterTag: false },
        ],
        labels: { "node.kubernetes.io/instance-type": "m5.large" },
      },
      {
        name: "batch",
        nodes: 1,
        securityGroups: [{ name: `${clusterName}-batch-node`, clusterTag: true }],
        labels: { workload: "batch" },
      },
    ],
    ingressClasses: [
      { name: "alb", controller: ALB_CONTROLLER },
      {
        name: "alb-internal",
        controller: ALB_CONTROLLER,
        params: { name: "internal", groupName: "internal" },
      },
      { name: "nginx", controller: "k8s.io/ingress-nginx" },
    ],
    services: [
      // Ingress backends
      { namespace: "shop", name: "frontend", type: "NodePort", ports: [http()] },
      { namespace: "shop", name: "cart", type: "NodePort", ports: [http(8081)] },
      {
        namespace: "shop",
        name: "catalog",
        type: "ClusterIP",
        ports: [http("web")],
        pods: { count: 2, containerPorts: [{ name: "web", containerPort: 8080 }] },
      },
      {
        namespace: "shop",
        name: "search",
        type: "ClusterIP",
        ports: [{ name: "api", port: 9200, targetPort: 9200 }],
        pods: { count: 2, containerPorts: [{ containerPort: 9200 }] },
      },
      {
        namespace: "payments",
        name: "api",
        type: "NodePort",
        ports: [{ name: "https", port: 443, targetPort: 8443 }],
      },
      { namespace: "payments", name: "webhook", type: "NodePort", ports: [{ port: 8080 }] },
      {
        namespace: "payments",
        name: "ledger",
        type: "ClusterIP",
        ports: [http()],
        pods: { count: 1, containerPorts: [{ name: "http", containerPort: 8080 }] },
      },
      { namespace: "platform", name: "grafana", type: "NodePort", ports: [{ name: "http", port: 3000 }] },
      { namespace: "platform", name: "prometheus", type: "NodePort", ports: [{ name: "http", port: 9090 }] },
      { namespace: "platform", name: "admin", type: "NodePort", ports: [http()] },
      // NLBs
      {
        namespace: "shop",
        name: "checkout-nlb",
        loadBalancerClass: LBC_NLB_CLASS,
        annotations: { [S.targetType]: "instance" },
        ports: [
          { name: "https", port: 443, targetPort: 8443 },
          { name: "http", port: 80, targetPort: 8080 },
        ],
      },
      {
        namespace: "shop",
        name: "stream-nlb",
        loadBalancerClass: LBC_NLB_CLASS,
        annotations: { [S.targetType]: "ip" },
        allocateLoadBalancerNodePorts: false,
        ports: [{ name: "grpc", port: 443, targetPort: "grpc" }],
        pods: { count: 2, containerPorts: [{ name: "grpc", containerPort: 50051 }] },
      },
      {
        namespace: "payments",
        name: "dns-udp",
        loadBalancerClass: LBC_NLB_CLASS,
        externalTrafficPolicy: "Local",
        annotations: { [S.targetType]: "instance" },
        ports: [{ name: "dns", port: 53, targetPort: 5353, protocol: "UDP" }],
      },
      {
        namespace: "payments",
        name: "ledger-nlb",
        type: "LoadBalancer",
        annotations: { [S.type]: "external", [S.targetType]: "ip", [S.healthCheckPort]: "9000" },
        ports: [{ name: "tcp", port: 5432, targetPort: 5432 }],
        pods: { count: 1, containerPorts: [{ containerPort: 5432 }] },
      },
      {
        namespace: "platform",
        name: "metrics-nlb",
        loadBalancerClass: LBC_NLB_CLASS,
        annotations: {
          [S.targetType]: "instance",
          [S.securityGroups]: "sg-0a1b2c3d4e5f60001",
          [S.manage]: "true",
        },
        ports: [{ name: "metrics", port: 9100, targetPort: 9100 }],
      },
      // not the LBC's: the in-tree cloud provider's
      { namespace: "platform", name: "legacy-elb", type: "LoadBalancer", ports: [http()] },
    ],
    ingresses: [
      {
        namespace: "shop",
        name: "frontend",
        className: "alb",
        annotations: { [A.groupName]: "shop" },
        backends: [{ service: "frontend", port: 80 }],
      },
      {
        namespace: "shop",
        name: "cart",
        className: "alb",
        annotations: { [A.groupName]: "shop" },
        backends: [{ service: "cart", port: "http" }],
      },
      {
        namespace: "shop",
        name: "catalog",
        className: "alb",
        annotations: { [A.targetType]: "ip" },
        backends: [{ service: "catalog", port: 80 }],
      },
      {
        namespace: "shop",
        name: "search",
        className: "alb",
        annotations: { [A.targetType]: "ip", [A.securityGroups]: "sg-0a1b2c3d4e5f60002", [A.manage]: "true" },
        backends: [{ service: "search", port: 9200 }],
      },
      {
        namespace: "shop",
        name: "legacy",
        annotations: { [A.ingressClass]: "alb" },
        backends: [{ service: "frontend", port: 80 }],
      },
      {
        namespace: "payments",
        name: "api",
        className: "alb",
        annotations: { [A.securityGroups]: "sg-0a1b2c3d4e5f60003, sg-0a1b2c3d4e5f60004", [A.manage]: "true" },
        backends: [{ service: "api", port: 443 }],
      },
      {
        namespace: "payments",
        name: "webhook",
        className: "alb",
        // opt-out: explicit frontend SGs, rules managed by someone else
        annotations: { [A.securityGroups]: "sg-0a1b2c3d4e5f60005", [A.manage]: "false" },
        backends: [{ service: "webhook", port: 8080 }],
      },
      {
        namespace: "payments",
        name: "ledger",
        className: "alb",
        annotations: { [A.targetType]: "ip" },
        backends: [{ service: "ledger", port: "http" }],
      },
      {
        namespace: "payments",
        name: "status",
        className: "nginx",
        backends: [{ service: "api", port: 443 }],
      },
      {
        namespace: "platform",
        name: "grafana",
        className: "alb",
        annotations: { [A.groupName]: "platform" },
        backends: [{ service: "grafana", port: 3000 }],
      },
      {
        namespace: "platform",
        name: "prometheus",
        className: "alb",
        annotations: { [A.groupName]: "platform" },
        backends: [
          { service: "prometheus", port: "http" },
          { service: "grafana", port: 3000 },
        ],
      },
      {
        namespace: "platform",
        name: "admin",
        className: "alb-internal",
        backends: [{ service: "admin", port: 80 }],
      },
    ],
  };
}

export interface LargeScenarioOptions {
  ingresses: number;
  services: number;
  namespaces: number;
  nodes: number;
  nodeSecurityGroups: number;
  clusterName: string;
}

/**
 * A benchmark cluster: `services` LBC NLBs (every 5th ip-target with 2 pods and no nodePorts, every 7th UDP,
 * every 20th externalTrafficPolicy Local) spread over the namespaces; `ingresses` Ingresses whose backends are
 * those Services (ip target when the Service has pods), every 10 of them in a group, some with explicit frontend SGs
 * and the manage annotation (true and false); nodes spread over `nodeSecurityGroups` node groups, one tagged SG each.
 * NodePorts are limited (30000-32767), so instance-target Services get one port each.
 */
export function largeScenario(opts: LargeScenarioOptions): Scenario {
  if (opts.services < 1 && opts.ingresses > 0)
    throw new Error("largeScenario: Ingresses need at least one Service");
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  const namespaces = Array.from({ length: Math.max(1, opts.namespaces) }, (_, i) => `bench-${pad(i, 3)}`);
  const nsOf = (i: number) => namespaces[i % namespaces.length] as string;
  const groups = Math.max(1, opts.nodeSecurityGroups);
  const nodeGroups: ScenarioNodeGroup[] = Array.from({ length: groups }, (_, g) => ({
    name: `ng-${pad(g, 2)}`,
    nodes: Math.floor(opts.nodes / groups) + (g < opts.nodes % groups ? 1 : 0),
    securityGroups: [{ name: `${opts.clusterName}-ng-${pad(g, 2)}`, clusterTag: true }],
  }));
  const isIp = (j: number) => j % 5 === 4;
  const services: ScenarioService[] = Array.from({ length: opts.services }, (_, j) => {
    const ip = isIp(j);
    const udp = !ip && j % 7 === 3;
    const local = !ip && j % 20 === 0;
    const targetPort = 8000 + (j % 50);
    return {
      namespace: nsOf(j),
      name: `svc-${pad(j, 5)}`,
      loadBalancerClass: LBC_NLB_CLASS,
      annotations: { [S.targetType]: ip ? "ip" : "instance" },
      ...(ip ? { allocateLoadBalancerNodePorts: false } : {}),
      ...(local ? { externalTrafficPolicy: "Local" as const } : {}),
      ports: [
        {
          name: "main",
          port: udp ? 53 : 80,
          targetPort: ip ? "main" : targetPort,
          protocol: udp ? "UDP" : "TCP",
        },
      ],
      ...(ip ? { pods: { count: 2, containerPorts: [{ name: "main", containerPort: targetPort }] } } : {}),
    };
  });
  const ingresses: ScenarioIngress[] = Array.from({ length: opts.ingresses }, (_, i) => {
    const j = i % opts.services;
    const svc = services[j] as ScenarioService;
    const annotations: Record<string, string> = {};
    if (isIp(j)) annotations[A.targetType] = "ip";
    if (i % 10 < 3) annotations[A.groupName] = `group-${pad(Math.floor(i / 10), 4)}`;
    else if (i % 10 === 5)
      Object.assign(annotations, { [A.securityGroups]: "sg-0a1b2c3d4e5f60001", [A.manage]: "true" });
    else if (i % 10 === 6)
      Object.assign(annotations, { [A.securityGroups]: "sg-0a1b2c3d4e5f60001", [A.manage]: "false" });
    return {
      namespace: svc.namespace,
      name: `ing-${pad(i, 5)}`,
      className: "alb",
      annotations,
      backends: [{ service: svc.name, port: svc.ports[0]?.port ?? 80 }],
    };
  });
  const nodePorts =
    services.filter((_, j) => !isIp(j)).length +
    services.filter((s) => s.externalTrafficPolicy === "Local").length;
  if (nodePorts > 2700) {
    throw new Error(
      `largeScenario: ${nodePorts} nodePorts needed, the apiserver's range 30000-32767 holds 2,768`,
    );
  }
  return {
    clusterName: opts.clusterName,
    namespaces,
    nodeGroups,
    services,
    ingresses,
    ingressClasses: [{ name: "alb", controller: ALB_CONTROLLER, isDefault: true }],
  };
}
