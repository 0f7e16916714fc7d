// Small builders for snapshots: each test states only what matters to it.
import {
  type ClusterSnapshot,
  DEFAULT_PLAN_OPTIONS,
  type Ec2Snapshot,
  type EndpointSlice,
  type ExistingRule,
  type Ingress,
  type IngressClass,
  type Node,
  OWNER_TAG_KEY,
  type PlanOptions,
  type Pod,
  type Service,
  type ServicePort,
} from "../../provider/domain/index.js";

export const BACKEND = "sg-backend";
export const NODE_SG = "sg-node";
export const OWNER = "stack-a";
export const LBC = "elbv2.k8s.aws/targetGroupBinding";

export function opts(over: Partial<PlanOptions> = {}): PlanOptions {
  return { ...DEFAULT_PLAN_OPTIONS, clusterName: "demo", ownerId: OWNER, ...over };
}

export function cluster(parts: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    ingresses: [],
    ingressClasses: [albClass()],
    ingressClassParams: [],
    services: [],
    endpointSlices: [],
    pods: [],
    nodes: [node("n1", "i-1"), node("n2", "i-2")],
    ...parts,
  };
}

export function albClass(name = "alb", extra: Partial<IngressClass> = {}, isDefault = false): IngressClass {
  return {
    kind: "IngressClass",
    metadata: {
      name,
      ...(isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}),
    },
    spec: { controller: "ingress.k8s.aws/alb" },
    ...extra,
  };
}

interface IngressOpts {
  annotations?: Record<string, string>;
  className?: string;
  backends?: Array<{ service: string; port: number | string }>;
  deleting?: boolean;
}

export function ingress(ns: string, name: string, o: IngressOpts = {}): Ingress {
  const backends = o.backends ?? [{ service: "web", port: 80 }];
  return {
    kind: "Ingress",
    metadata: {
      name,
      namespace: ns,
      ...(o.annotations === undefined ? {} : { annotations: o.annotations }),
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      ...(o.className === undefined ? {} : { ingressClassName: o.className }),
      rules: [
        {
          http: {
            paths: backends.map((b, i) => ({
              path: `/${i}`,
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
  };
}

interface ServiceOpts {
  type?: string;
  annotations?: Record<string, string>;
  ports?: ServicePort[];
  loadBalancerClass?: string;
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  deleting?: boolean;
}

export function service(ns: string, name: string, o: ServiceOpts = {}): Service {
  return {
    kind: "Service",
    metadata: {
      name,
      namespace: ns,
      ...(o.annotations === undefined ? {} : { annotations: o.annotations }),
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      type: o.type ?? "NodePort",
      ports: o.ports ?? [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080 }],
      ...(o.loadBalancerClass === undefined ? {} : { loadBalancerClass: o.loadBalancerClass }),
      ...(o.externalTrafficPolicy === undefined ? {} : { externalTrafficPolicy: o.externalTrafficPolicy }),
      ...(o.healthCheckNodePort === undefined ? {} : { healthCheckNodePort: o.healthCheckNodePort }),
    },
  };
}

/** An NLB Service the LBC takes by class. */
export function nlb(ns: string, name: string, o: ServiceOpts = {}): Service {
  return service(ns, name, { type: "LoadBalancer", loadBalancerClass: "service.k8s.aws/nlb", ...o });
}

interface NodeOpts {
  labels?: Record<string, string>;
  ready?: boolean;
  taints?: Array<{ key: string; effect: string }>;
  deleting?: boolean;
}

export function node(name: string, instanceId: string, o: NodeOpts = {}): Node {
  return {
    kind: "Node",
    metadata: {
      name,
      labels: o.labels ?? {},
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      providerID: `aws:///eu-west-1a/${instanceId}`,
      ...(o.taints === undefined ? {} : { taints: o.taints }),
    },
    status: { conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  };
}

export function pod(
  ns: string,
  name: string,
  ip: string,
  ports: Array<{ name: string; containerPort: number }> = [],
  annotations?: Record<string, string>,
): Pod {
  return {
    kind: "Pod",
    metadata: { name, namespace: ns, ...(annotations === undefined ? {} : { annotations }) },
    spec: { nodeName: "n1", containers: [{ name: "app", ports }] },
    status: { podIP: ip, phase: "Running" },
  };
}

export function slice(
  ns: string,
  svc: string,
  endpoints: Array<{ ip: string; pod?: string; ready?: boolean }>,
  suffix = "a",
): EndpointSlice {
  return {
    kind: "EndpointSlice",
    metadata: { name: `${svc}-${suffix}`, namespace: ns, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.pod === undefined ? {} : { targetRef: { kind: "Pod", name: e.pod, namespace: ns } }),
    })),
  };
}

/** Two nodes i-1/i-2 on eni-1/eni-2, both in sg-node; pod IPs 10.0.1.x live on eni-1. */
export function ec2(over: Partial<Ec2Snapshot> = {}): Ec2Snapshot {
  return {
    backendSecurityGroupId: BACKEND,
    instancePrimaryEni: { "i-1": "eni-1", "i-2": "eni-2" },
    networkInterfaces: {
      "eni-1": {
        id: "eni-1",
        securityGroupIds: [NODE_SG],
        privateIpAddresses: ["10.0.0.1", "10.0.1.1", "10.0.1.2", "10.0.1.3"],
        instanceId: "i-1",
      },
      "eni-2": {
        id: "eni-2",
        securityGroupIds: [NODE_SG],
        privateIpAddresses: ["10.0.0.2"],
        instanceId: "i-2",
      },
    },
    securityGroups: { [NODE_SG]: { id: NODE_SG, tags: { "kubernetes.io/cluster/demo": "owned" } } },
    rules: {},
    ruleQuota: 60,
    ...over,
  };
}

let ruleSeq = 0;
export function existing(
  key: { sg?: string; proto?: string; from: number; to?: number; source?: string },
  tags: Record<string, string> = { [OWNER_TAG_KEY]: OWNER },
  ruleId?: string,
): ExistingRule {
  ruleSeq++;
  return {
    ruleId: ruleId ?? `sgr-${String(ruleSeq).padStart(4, "0")}`,
    groupId: key.sg ?? NODE_SG,
    protocol: key.proto ?? "tcp",
    fromPort: key.from,
    toPort: key.to ?? key.from,
    sourceSecurityGroupId: key.source ?? BACKEND,
    tags,
  };
}

export const SG_ANN = "alb.ingress.kubernetes.io/security-groups";
export const MANAGE_ANN = "alb.ingress.kubernetes.io/manage-backend-security-group-rules";
export const SVC_SG_ANN = "service.beta.kubernetes.io/aws-load-balancer-security-groups";
export const SVC_MANAGE_ANN =
  "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";
