// A synthetic cluster and EC2 view of any size, deterministic for a given shape, for benchmarks.
import {
  type ClusterSnapshot,
  type Ec2Snapshot,
  type EndpointSlice,
  type ExistingRule,
  type Ingress,
  type Node,
  OWNER_TAG_KEY,
  type Pod,
  type Service,
} from "../../provider/domain/index.js";

export interface SyntheticShape {
  ingresses: number;
  services: number;
  namespaces: number;
  nodes: number;
  /** Ingresses per explicit group (default 5) */
  groupSize?: number;
  /** every n-th Ingress backend and NLB uses ip targets with pods (default 5) */
  ipEvery?: number;
  podsPerIpService?: number;
  nodeSecurityGroups?: number;
  ownerId?: string;
}

export interface SyntheticWorld {
  cluster: ClusterSnapshot;
  ec2: Ec2Snapshot;
}

const NODE_PORT_MIN = 30000;
const NODE_PORT_COUNT = 2768;

/**
 * Half of the Services are the Ingresses' NodePort backends (two Ingresses per backend), half are NLBs.
 * Nodes spread over `nodeSecurityGroups` SGs; every fifth object uses ip targets on three pods with a named port.
 */
export function syntheticWorld(shape: SyntheticShape): SyntheticWorld {
  const groupSize = shape.groupSize ?? 5;
  const ipEvery = shape.ipEvery ?? 5;
  const podsPer = shape.podsPerIpService ?? 3;
  const sgCount = shape.nodeSecurityGroups ?? 4;
  const ownerId = shape.ownerId ?? "bench";
  const ns = (i: number) => `ns-${String(i % shape.namespaces).padStart(3, "0")}`;

  const nodes: Node[] = [];
  const instancePrimaryEni: Record<string, string> = {};
  const networkInterfaces: Ec2Snapshot["networkInterfaces"] = {};
  const securityGroups: Ec2Snapshot["securityGroups"] = {};
  for (let s = 0; s < sgCount; s++) {
    const id = `sg-node${String(s).padStart(4, "0")}`;
    securityGroups[id] = { id, tags: { "kubernetes.io/cluster/bench": "owned" } };
  }
  securityGroups["sg-shared"] = { id: "sg-shared", tags: {} };
  for (let n = 0; n < shape.nodes; n++) {
    const iid = `i-${String(n).padStart(17, "0")}`;
    const eni = `eni-${String(n).padStart(17, "0")}`;
    nodes.push({
      metadata: { name: `node-${n}`, labels: { "node.kubernetes.io/instance-type": "m6i.large" } },
      spec: { providerID: `aws:///eu-west-1a/${iid}` },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    instancePrimaryEni[iid] = eni;
    // Two SGs per ENI: the tag picks the node group's one (the realistic EKS case).
    networkInterfaces[eni] = {
      id: eni,
      securityGroupIds: [`sg-node${String(n % sgCount).padStart(4, "0")}`, "sg-shared"],
      privateIpAddresses: [],
      instanceId: iid,
    };
  }

  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const pods: Pod[] = [];
  let podSeq = 0;
  const addPods = (namespace: string, svc: string): void => {
    const eps: NonNullable<EndpointSlice["endpoints"]> = [];
    for (let p = 0; p < podsPer; p++) {
      const ip = `10.${(podSeq >> 16) & 255}.${(podSeq >> 8) & 255}.${podSeq & 255}`;
      const name = `${svc}-pod-${p}`;
      const eni = instancePrimaryEni[`i-${String(podSeq % shape.nodes).padStart(17, "0")}`]!;
      networkInterfaces[eni]!.privateIpAddresses.push(ip);
      podSeq++;
      pods.push({
        metadata: { name, namespace },
        spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8000 + (p % 3) }] }] },
        status: { podIP: ip },
      });
      eps.push({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: "Pod", name, namespace } });
    }
    endpointSlices.push({
      metadata: { name: `${svc}-x`, namespace, labels: { "kubernetes.io/service-name": svc } },
      endpoints: eps,
    });
  };

  const backends = Math.ceil(shape.services / 2);
  for (let i = 0; i < shape.services; i++) {
    const namespace = ns(i);
    const name = `svc-${i}`;
    const nodePort = NODE_PORT_MIN + (i % NODE_PORT_COUNT);
    const ip = i % ipEvery === 0;
    const isNlb = i >= backends;
    const annotations: Record<string, string> = {};
    if (ip)
      annotations[
        isNlb
          ? "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
          : "alb.ingress.kubernetes.io/target-type"
      ] = "ip";
    services.push({
      metadata: { name, namespace, annotations },
      spec: {
        type: isNlb ? "LoadBalancer" : "NodePort",
        ...(isNlb ? { loadBalancerClass: "service.k8s.aws/nlb" } : {}),
        ports: [
          { name: "http", port: 80, targetPort: "http", nodePort, protocol: i % 10 === 3 ? "UDP" : "TCP" },
        ],
      },
    });
    if (ip) addPods(namespace, name);
  }

  const ingresses: Ingress[] = [];
  for (let i = 0; i < shape.ingresses; i++) {
    // Backend j lives in namespace j % namespaces; the Ingress must live there too.
    const backend = i % backends;
    const group = Math.floor(i / groupSize);
    ingresses.push({
      metadata: {
        name: `ing-${i}`,
        namespace: ns(backend),
        annotations: { "alb.ingress.kubernetes.io/group.name": `group-${group}` },
      },
      spec: {
        ingressClassName: "alb",
        rules: [
          {
            http: {
              paths: [{ path: "/", backend: { service: { name: `svc-${backend}`, port: { number: 80 } } } }],
            },
          },
        ],
      },
    });
  }

  const rules: Record<string, ExistingRule[]> = {};
  let ruleSeq = 0;
  for (const sg of Object.keys(securityGroups)) {
    if (sg === "sg-shared") continue;
    const list: ExistingRule[] = [];
    for (let r = 0; r < 30; r++) {
      list.push({
        ruleId: `sgr-${String(ruleSeq++).padStart(17, "0")}`,
        groupId: sg,
        protocol: "tcp",
        fromPort: NODE_PORT_MIN + r * 90,
        toPort: NODE_PORT_MIN + r * 90,
        sourceSecurityGroupId: "sg-backend",
        tags: r < 25 ? { [OWNER_TAG_KEY]: ownerId } : {},
      });
    }
    rules[sg] = list;
  }

  return {
    cluster: {
      ingresses,
      ingressClasses: [{ metadata: { name: "alb" }, spec: { controller: "ingress.k8s.aws/alb" } }],
      ingressClassParams: [],
      services,
      endpointSlices,
      pods,
      nodes,
    },
    ec2: {
      backendSecurityGroupId: "sg-backend",
      instancePrimaryEni,
      networkInterfaces,
      securityGroups,
      rules,
      ruleQuota: 60,
    },
  };
}
