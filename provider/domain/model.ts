// The planner's inputs and outputs. Plain data only: the Kubernetes shapes are the subset of fields we read,
// spelled as the API serves them (what `kubectl get -o json` prints), so snapshots from the live API, from a
// kubectl dump and from tests are interchangeable.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface IngressServiceBackend {
  name: string;
  port?: { number?: number; name?: string };
}

export interface IngressBackend {
  service?: IngressServiceBackend;
  resource?: { apiGroup?: string; kind: string; name: string };
}

export interface IngressPath {
  path?: string;
  pathType?: string;
  backend: IngressBackend;
}

export interface Ingress {
  kind?: "Ingress";
  metadata: ObjectMeta;
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: Array<{ host?: string; http?: { paths: IngressPath[] } }>;
  };
}

export interface IngressClass {
  kind?: "IngressClass";
  metadata: ObjectMeta;
  spec?: {
    controller?: string;
    parameters?: { apiGroup?: string; kind: string; name: string; scope?: string; namespace?: string };
  };
}

/** elbv2.k8s.aws/v1beta1 IngressClassParams (cluster-scoped). */
export interface IngressClassParams {
  kind?: "IngressClassParams";
  metadata: ObjectMeta;
  spec?: {
    group?: { name: string };
    scheme?: string;
    namespaceSelector?: unknown;
    /** instance | ip: beats the target-type annotations, as in the LBC */
    targetType?: string;
  };
}

export interface ServicePort {
  name?: string;
  protocol?: string; // TCP (default) | UDP | SCTP
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service {
  kind?: "Service";
  metadata: ObjectMeta;
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    ports?: ServicePort[];
    selector?: Record<string, string>;
    externalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    clusterIP?: string;
  };
}

export interface EndpointSlice {
  kind?: "EndpointSlice";
  metadata: ObjectMeta; // labels["kubernetes.io/service-name"] ties it to its Service
  addressType?: string;
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
    targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

export interface Pod {
  kind?: "Pod";
  metadata: ObjectMeta; // annotations["vpc.amazonaws.com/pod-eni"] holds branch ENIs (security groups for pods)
  spec?: {
    nodeName?: string;
    containers?: Array<{
      name?: string;
      ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
    }>;
  };
  status?: { podIP?: string; podIPs?: Array<{ ip: string }>; phase?: string };
}

export interface Node {
  kind?: "Node";
  metadata: ObjectMeta;
  spec?: {
    providerID?: string; // aws:///us-west-2a/i-0123456789abcdef0
    unschedulable?: boolean;
    taints?: Array<{ key: string; value?: string; effect: string }>;
  };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Everything read from the cluster for one plan. Order is irrelevant: the planner sorts. */
export interface ClusterSnapshot {
  ingresses: Ingress[];
  ingressClasses: IngressClass[];
  ingressClassParams: IngressClassParams[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  pods: Pod[];
  nodes: Node[];
}

// ---- EC2 facts ----

export interface NetworkInterfaceFacts {
  id: string; // eni-...
  securityGroupIds: string[];
  privateIpAddresses: string[];
  instanceId?: string;
}

export interface SecurityGroupFacts {
  id: string;
  vpcId?: string;
  tags: Record<string, string>;
}

/** A rule that exists on a destination security group (ingress only). */
export interface ExistingRule {
  ruleId: string; // sgr-...
  groupId: string;
  protocol: string; // "tcp" | "udp" | "-1" | a number, as EC2 reports it
  fromPort: number;
  toPort: number;
  /** the referenced security group, when the rule's source is one */
  sourceSecurityGroupId?: string;
  cidr?: string;
  prefixListId?: string;
  description?: string;
  tags: Record<string, string>;
}

export interface Ec2Snapshot {
  backendSecurityGroupId: string;
  /** instance id -> its primary (device index 0) ENI id */
  instancePrimaryEni: Record<string, string>;
  /** every ENI we looked up: node primary ENIs, ENIs holding pod IPs, branch ENIs */
  networkInterfaces: Record<string, NetworkInterfaceFacts>;
  /** every candidate destination SG, with its tags */
  securityGroups: Record<string, SecurityGroupFacts>;
  /** existing ingress rules per destination SG id (only SGs that were read) */
  rules: Record<string, ExistingRule[]>;
  /** rules-per-SG quota (EC2 default 60) */
  ruleQuota: number;
}

// ---- options ----

export type PortMode = "minimal" | "range" | "all";
export type TargetType = "instance" | "ip";

export interface NamespacePolicy {
  /** when non-empty, only these namespaces are considered */
  include?: string[];
  exclude?: string[];
  /** per-namespace value of the global flag; an object's own annotation still wins */
  overrides?: Record<string, boolean>;
}

export interface PlanOptions {
  clusterName: string;
  manageBackendSecurityGroupRules: boolean;
  portMode: PortMode;
  namespaces: NamespacePolicy;
  ingressClass: string; // default "alb"
  loadBalancerClass: string; // default "service.k8s.aws/nlb"
  defaultTargetType: TargetType; // default "instance"
  /** explicit destination SGs: override ENI discovery */
  targetSecurityGroupIds?: string[];
  /** tags (key -> value, "" = any value) an ENI's SG must carry, beside kubernetes.io/cluster/<name> */
  extraEniSecurityGroupTags?: Record<string, string>;
  ownerId: string;
  adoptExistingRules: boolean;
}

// Our ownership marker, distinct from the LBC's (elbv2.k8s.aws/targetGroupBinding=shared).
export const OWNER_TAG_KEY = "lbc-backend-sg/owner";
export const DESCRIPTION_PREFIX = "lbc-backend-sg owner=";
export const LBC_TGB_TAG_KEY = "elbv2.k8s.aws/targetGroupBinding";
