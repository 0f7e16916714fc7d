import { ANN, annotation, parseIntOrString, parseStringMap } from "./annotations.js";
import type {
  ClusterSnapshot,
  EndpointSlice,
  Ingress,
  IngressBackend,
  IngressClassParams,
  PlanOptions,
  Pod,
  Service,
  ServicePort,
  TargetType,
} from "./model.js";
import { type Problem, problem } from "./problems.js";

export type Protocol = "tcp" | "udp";

export interface ProtoPort {
  protocol: Protocol;
  port: number;
}

/** Who receives traffic: every eligible node matching the labels (instance), or one pod's IP (ip). */
export type Target =
  | { kind: "nodes"; labels: Record<string, string>; key: string }
  | { kind: "pod"; key: string; ip: string; namespace: string; pod?: Pod };

export interface TargetPorts {
  target: Target;
  ports: ProtoPort[];
}

export interface ObjectNeeds {
  ref: string;
  targets: TargetPorts[];
  problems: Problem[];
}

/** Lookups built once per plan so that joins are by key, never by scanning. */
export interface ClusterIndex {
  services: Map<string, Service>;
  slicesByService: Map<string, EndpointSlice[]>;
  pods: Map<string, Pod>;
}

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const TRAFFIC_PORT = "traffic-port";

export function indexCluster(cluster: ClusterSnapshot): ClusterIndex {
  const services = new Map<string, Service>();
  for (const s of cluster.services) services.set(nsName(s.metadata), s);
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const es of cluster.endpointSlices) {
    const svc = es.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svc === undefined) continue;
    const key = `${es.metadata.namespace ?? "default"}/${svc}`;
    const list = slicesByService.get(key);
    if (list === undefined) slicesByService.set(key, [es]);
    else list.push(es);
  }
  const pods = new Map<string, Pod>();
  for (const p of cluster.pods) pods.set(nsName(p.metadata), p);
  return { services, slicesByService, pods };
}

export function nsName(meta: { namespace?: string; name: string }): string {
  return `${meta.namespace ?? "default"}/${meta.name}`;
}

const ALL_NODES: Target = { kind: "nodes", labels: {}, key: "nodes:" };

function nodeTarget(labels: Record<string, string>): Target {
  // Most objects select every eligible node: share one target instead of building a key each time.
  if (Object.keys(labels).length === 0) return ALL_NODES;
  const key = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
  return { kind: "nodes", labels, key: `nodes:${key}` };
}

/** Health check port as the LBC resolves it: traffic-port, a number, or a Service port's name. */
type HealthCheck = { kind: "traffic-port" } | { kind: "port"; port: number };

function resolveHealthCheck(
  raw: string,
  svc: Service,
  targetType: TargetType,
  ref: string,
  field: string,
  problems: Problem[],
): HealthCheck | undefined {
  if (raw === TRAFFIC_PORT) return { kind: "traffic-port" };
  const parsed = parseIntOrString(raw);
  if (typeof parsed === "number") {
    if (parsed < 1 || parsed > 65535) {
      problems.push(
        problem(ref, field, raw, `${TRAFFIC_PORT}, a port number 1-65535 or a Service port name`),
      );
      return undefined;
    }
    return { kind: "port", port: parsed };
  }
  const sp = svc.spec?.ports?.find((p) => p.name === parsed);
  if (sp === undefined) {
    const names = (svc.spec?.ports ?? []).map((p) => p.name ?? "").filter((n) => n !== "");
    problems.push(
      problem(
        ref,
        field,
        raw,
        `${TRAFFIC_PORT}, a port number or one of the Service's port names [${names.join(", ")}]`,
      ),
    );
    return undefined;
  }
  if (targetType === "instance") {
    if (sp.nodePort === undefined) {
      problems.push(
        problem(ref, `${field} (Service port ${parsed}) nodePort`, "", "a nodePort on that Service port"),
      );
      return undefined;
    }
    return { kind: "port", port: sp.nodePort };
  }
  if (typeof sp.targetPort === "string") {
    problems.push(
      problem(
        ref,
        field,
        raw,
        "a port number: a named health-check port cannot be used for ip targets when the targetPort is named",
      ),
    );
    return undefined;
  }
  return { kind: "port", port: sp.targetPort ?? sp.port };
}

/** The ports one target needs for one Service port (pkg/service buildTargetGroupBindingNetworking). */
function portsFor(protocol: Protocol, traffic: number, hc: HealthCheck): ProtoPort[] {
  const out: ProtoPort[] = [{ protocol, port: traffic }];
  const hcIsTraffic = hc.kind === "traffic-port" || hc.port === traffic;
  // NLB health checks are TCP: a UDP target group checked on its traffic port needs TCP on that port too.
  if (protocol === "udp" && hcIsTraffic) out.push({ protocol: "tcp", port: traffic });
  if (hc.kind === "port" && !hcIsTraffic) out.push({ protocol: "tcp", port: hc.port });
  return out;
}

interface ResolvedEndpoint {
  key: string;
  ip: string;
  pod?: Pod;
}

/** The pods the LBC would register: ready endpoints of the Service's EndpointSlices, deduplicated by IP. */
function readyEndpoints(svc: Service, index: ClusterIndex): ResolvedEndpoint[] {
  const ns = svc.metadata.namespace ?? "default";
  const seen = new Map<string, ResolvedEndpoint>();
  for (const slice of index.slicesByService.get(nsName(svc.metadata)) ?? []) {
    for (const ep of slice.endpoints ?? []) {
      // Like the LBC's endpoint resolver: only an explicit ready=true counts.
      if (ep.conditions?.ready !== true) continue;
      const podName = ep.targetRef?.kind === "Pod" ? ep.targetRef.name : undefined;
      const pod = podName === undefined ? undefined : index.pods.get(`${ns}/${podName}`);
      for (const ip of ep.addresses) {
        if (seen.has(ip)) continue;
        const r: ResolvedEndpoint = { key: podName === undefined ? `ip:${ip}` : `pod:${ns}/${podName}`, ip };
        if (pod !== undefined) r.pod = pod;
        seen.set(ip, r);
      }
    }
  }
  return [...seen.values()];
}

function podTarget(ns: string, ep: ResolvedEndpoint): Target {
  const t: Target = { kind: "pod", key: ep.key, ip: ep.ip, namespace: ns };
  if (ep.pod !== undefined) t.pod = ep.pod;
  return t;
}

function containerPort(pod: Pod, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
  }
  return undefined;
}

/** Traffic target ports for one Service port and target type, for every target. */
function servicePortTargets(
  ref: string,
  svc: Service,
  sp: ServicePort,
  targetType: TargetType,
  protocol: Protocol,
  hc: HealthCheck,
  nodeLabels: Record<string, string>,
  index: ClusterIndex,
  problems: Problem[],
): TargetPorts[] {
  const svcRef = `Service ${nsName(svc.metadata)}`;
  const portName = sp.name ?? String(sp.port);
  if (targetType === "instance") {
    if (sp.nodePort === undefined) {
      problems.push(
        problem(
          ref,
          `${svcRef} port ${portName} nodePort`,
          "",
          "a nodePort: instance targets need a Service of type NodePort or LoadBalancer",
        ),
      );
      return [];
    }
    return [{ target: nodeTarget(nodeLabels), ports: portsFor(protocol, sp.nodePort, hc) }];
  }
  const ns = svc.metadata.namespace ?? "default";
  const tp = sp.targetPort ?? sp.port;
  const out: TargetPorts[] = [];
  for (const ep of readyEndpoints(svc, index)) {
    let port: number | undefined;
    if (typeof tp === "number") port = tp;
    else {
      port = ep.pod === undefined ? undefined : containerPort(ep.pod, tp);
      if (port === undefined) {
        const podRef =
          ep.pod === undefined ? `endpoint ${ep.ip} (pod not found)` : `Pod ${nsName(ep.pod.metadata)}`;
        problems.push(
          problem(
            ref,
            `${svcRef} targetPort`,
            tp,
            `a container port named ${tp} on every ready pod; ${podRef} has none`,
          ),
        );
        continue;
      }
    }
    out.push({ target: podTarget(ns, ep), ports: portsFor(protocol, port, hc) });
  }
  return out;
}

function parseTargetType(
  raw: string,
  ref: string,
  field: string,
  problems: Problem[],
): TargetType | undefined {
  if (raw === "instance" || raw === "ip") return raw;
  problems.push(problem(ref, field, raw, "instance or ip"));
  return undefined;
}

function nodeLabelsFrom(
  raw: string | undefined,
  ref: string,
  field: string,
  problems: Problem[],
): Record<string, string> | undefined {
  if (raw === undefined) return {};
  const parsed = parseStringMap(raw);
  if (parsed === undefined) problems.push(problem(ref, field, raw, "key=value pairs separated by commas"));
  return parsed;
}

// ---- Services (NLB) ----

export function computeServiceNeeds(
  ref: string,
  svc: Service,
  options: PlanOptions,
  index: ClusterIndex,
): ObjectNeeds {
  const problems: Problem[] = [];
  const needs: ObjectNeeds = { ref, targets: [], problems };
  let targetType: TargetType | undefined = options.defaultTargetType;
  const ttRaw = annotation(svc.metadata, ANN.svcTargetType);
  if (annotation(svc.metadata, ANN.svcLbType) === "nlb-ip") targetType = "ip";
  else if (ttRaw !== undefined)
    targetType = parseTargetType(ttRaw, ref, `annotation ${ANN.svcTargetType}`, problems);
  const labels = nodeLabelsFrom(
    annotation(svc.metadata, ANN.svcTargetNodeLabels),
    ref,
    `annotation ${ANN.svcTargetNodeLabels}`,
    problems,
  );
  if (targetType === undefined || labels === undefined) return needs;

  // Instance mode with externalTrafficPolicy Local: the LBC health-checks kube-proxy's healthCheckNodePort.
  const local =
    targetType === "instance" &&
    svc.spec?.externalTrafficPolicy === "Local" &&
    svc.spec?.type === "LoadBalancer";
  let hcRaw = annotation(svc.metadata, ANN.svcHealthCheckPort);
  if (hcRaw === undefined) {
    if (local) {
      if (svc.spec?.healthCheckNodePort === undefined) {
        problems.push(
          problem(ref, "spec.healthCheckNodePort", "", "a port: externalTrafficPolicy Local needs it"),
        );
        return needs;
      }
      hcRaw = String(svc.spec.healthCheckNodePort);
    } else hcRaw = TRAFFIC_PORT;
  }
  const hc = resolveHealthCheck(
    hcRaw,
    svc,
    targetType,
    ref,
    `annotation ${ANN.svcHealthCheckPort}`,
    problems,
  );
  if (hc === undefined) return needs;

  for (const sp of svc.spec?.ports ?? []) {
    const proto = (sp.protocol ?? "TCP").toUpperCase();
    if (proto !== "TCP" && proto !== "UDP") {
      problems.push(problem(ref, `spec.ports[${sp.name ?? sp.port}].protocol`, proto, "TCP or UDP"));
      continue;
    }
    const protocol: Protocol = proto === "UDP" ? "udp" : "tcp";
    needs.targets.push(
      ...servicePortTargets(ref, svc, sp, targetType, protocol, hc, labels, index, problems),
    );
  }
  return needs;
}

// ---- Ingresses (ALB) ----

interface BackendRef {
  service: string;
  port: number | string;
}

interface ActionConfig {
  type?: string;
  targetGroupARN?: string;
  forwardConfig?: {
    targetGroups?: Array<{ serviceName?: string; servicePort?: number | string; targetGroupARN?: string }>;
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Service backends of one Ingress, following `use-annotation` actions; ARN forwards add nothing. */
export function ingressBackends(ing: Ingress, ref: string, problems: Problem[]): BackendRef[] {
  const raw: IngressBackend[] = [];
  if (ing.spec?.defaultBackend !== undefined) raw.push(ing.spec.defaultBackend);
  for (const rule of ing.spec?.rules ?? []) for (const p of rule.http?.paths ?? []) raw.push(p.backend);
  const out: BackendRef[] = [];
  for (const b of raw) {
    const s = b.service;
    if (s === undefined) continue; // resource backends: not a Service, no target group of ours
    if (s.port?.name === "use-annotation") {
      const key = `${ANN.ingActionPrefix}${s.name}`;
      const json = annotation(ing.metadata, key);
      if (json === undefined) {
        problems.push(
          problem(ref, `annotation ${key}`, "", "an action for the backend using use-annotation"),
        );
        continue;
      }
      let action: unknown;
      try {
        action = JSON.parse(json);
      } catch {
        problems.push(problem(ref, `annotation ${key}`, json, "a JSON action"));
        continue;
      }
      if (!isRecord(action)) {
        problems.push(problem(ref, `annotation ${key}`, json, "a JSON object action"));
        continue;
      }
      const a = action as ActionConfig;
      if (a.type !== "forward") continue; // redirect / fixed-response: no targets
      for (const tg of a.forwardConfig?.targetGroups ?? []) {
        if (tg.serviceName !== undefined && tg.servicePort !== undefined) {
          const port = typeof tg.servicePort === "string" ? parseIntOrString(tg.servicePort) : tg.servicePort;
          out.push({ service: tg.serviceName, port });
        }
      }
      continue;
    }
    const port = s.port?.number ?? s.port?.name;
    if (port === undefined) {
      problems.push(problem(ref, `backend service ${s.name} port`, "", "a port number or name"));
      continue;
    }
    out.push({ service: s.name, port });
  }
  return out;
}

const NO_ANNOTATIONS: Record<string, string> = {};

/** Lookups through the Service's annotations first, then the Ingress's, without copying either. */
function mergedAnnotations(ing: Ingress, svc: Service): { annotations: Record<string, string> } {
  const a = ing.metadata.annotations ?? NO_ANNOTATIONS;
  const b = svc.metadata.annotations;
  if (b === undefined || Object.keys(b).length === 0) return { annotations: a };
  return { annotations: { ...a, ...b } };
}

export function computeIngressNeeds(
  ref: string,
  ing: Ingress,
  params: IngressClassParams | undefined,
  options: PlanOptions,
  index: ClusterIndex,
): ObjectNeeds {
  const problems: Problem[] = [];
  const needs: ObjectNeeds = { ref, targets: [], problems };
  const ns = ing.metadata.namespace ?? "default";
  const done = new Set<string>();
  for (const b of ingressBackends(ing, ref, problems)) {
    const dedupe = `${b.service}:${b.port}`;
    if (done.has(dedupe)) continue;
    done.add(dedupe);
    const svc = index.services.get(`${ns}/${b.service}`);
    if (svc === undefined) {
      problems.push(problem(ref, "backend service", b.service, `an existing Service in namespace ${ns}`));
      continue;
    }
    const sp = svc.spec?.ports?.find((p) =>
      typeof b.port === "number" ? p.port === b.port : p.name === b.port,
    );
    if (sp === undefined) {
      const valid = (svc.spec?.ports ?? []).map((p) =>
        p.name === undefined ? String(p.port) : `${p.port}/${p.name}`,
      );
      problems.push(
        problem(ref, `backend service ${b.service} port`, String(b.port), `one of [${valid.join(", ")}]`),
      );
      continue;
    }
    // The backend Service's alb.* annotations beat the Ingress's (the LBC merges svc over ing).
    const meta = mergedAnnotations(ing, svc);
    const ttSource =
      svc.metadata.annotations?.[ANN.ingTargetType] !== undefined ? `Service ${ns}/${b.service} ` : "";
    let targetType: TargetType | undefined = options.defaultTargetType;
    const ttRaw = annotation(meta, ANN.ingTargetType);
    if (ttRaw !== undefined)
      targetType = parseTargetType(ttRaw, ref, `${ttSource}annotation ${ANN.ingTargetType}`, problems);
    const paramsTT = params?.spec?.targetType;
    if (paramsTT !== undefined && paramsTT !== "") {
      targetType = parseTargetType(
        paramsTT,
        ref,
        `IngressClassParams ${params?.metadata.name} spec.targetType`,
        problems,
      );
    }
    const labels = nodeLabelsFrom(
      annotation(meta, ANN.ingTargetNodeLabels),
      ref,
      `annotation ${ANN.ingTargetNodeLabels}`,
      problems,
    );
    if (targetType === undefined || labels === undefined) continue;
    const hc = resolveHealthCheck(
      annotation(meta, ANN.ingHealthCheckPort) ?? TRAFFIC_PORT,
      svc,
      targetType,
      ref,
      `annotation ${ANN.ingHealthCheckPort}`,
      problems,
    );
    if (hc === undefined) continue;
    // ALB target groups are HTTP/HTTPS/gRPC over TCP.
    needs.targets.push(...servicePortTargets(ref, svc, sp, targetType, "tcp", hc, labels, index, problems));
  }
  return needs;
}
