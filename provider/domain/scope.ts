import { ANN, annotation, GO_BOOL_EXPECTED, parseGoBool } from "./annotations.js";
import type {
  ClusterSnapshot,
  Ingress,
  IngressClass,
  IngressClassParams,
  PlanOptions,
  Service,
} from "./model.js";
import { namespaceExclusion } from "./namespaces.js";
import { type Problem, problem } from "./problems.js";
import { ingressRef, type SkippedObject, serviceRef } from "./skipped.js";

export const ALB_CONTROLLER = "ingress.k8s.aws/alb";
const PARAMS_KIND = "IngressClassParams";
// The LBC's group loader: lower-case alphanumerics, '-' and '.', starting and ending alphanumeric, ≤ 63.
const GROUP_NAME = /^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$/;
const GROUP_NAME_MAX = 63;
const GROUP_ORDER_MIN = -1000;
const GROUP_ORDER_MAX = 1000;

export interface ScopedIngress {
  ingress: Ingress;
  ref: string;
  /** "IngressGroup <name>" for explicit groups, else the Ingress's own ref: a group of one */
  group: string;
  params?: IngressClassParams;
}

export interface ScopedService {
  service: Service;
  ref: string;
}

export interface ScopeResult<T> {
  objects: T[];
  skipped: SkippedObject[];
  problems: Problem[];
}

export function isDeleting(meta: { deletionTimestamp?: string }): boolean {
  return meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== "";
}

type ClassVerdict = { ours: true; params?: IngressClassParams } | { ours: false; reason: string } | Problem;

function isProblem(v: object): v is Problem {
  return "message" in v && "expected" in v;
}

/** Which Ingresses the LBC would reconcile, and their group (pkg/ingress class_loader + group_loader). */
export function scopeIngresses(cluster: ClusterSnapshot, options: PlanOptions): ScopeResult<ScopedIngress> {
  const skipped: SkippedObject[] = [];
  const problems: Problem[] = [];
  const objects: ScopedIngress[] = [];
  const classes = new Map<string, IngressClass>();
  for (const c of cluster.ingressClasses) if (!isDeleting(c.metadata)) classes.set(c.metadata.name, c);
  const params = new Map<string, IngressClassParams>();
  for (const p of cluster.ingressClassParams) params.set(p.metadata.name, p);
  const defaults = [...classes.values()]
    .filter((c) => annotation(c.metadata, ANN.isDefaultClass) === "true")
    .map((c) => c.metadata.name)
    .sort();
  let twoDefaultsReported = false;

  const classify = (ing: Ingress, ref: string): ClassVerdict => {
    const byAnnotation = annotation(ing.metadata, ANN.ingressClass);
    // The legacy annotation decides alone when present, even over spec.ingressClassName.
    if (byAnnotation !== undefined) {
      return byAnnotation === options.ingressClass
        ? { ours: true }
        : {
            ours: false,
            reason: `out of scope: ingress class ${byAnnotation} (annotation ${ANN.ingressClass})`,
          };
    }
    let className = ing.spec?.ingressClassName;
    if (className === undefined) {
      if (defaults.length === 0)
        return { ours: false, reason: "out of scope: no ingress class and no default IngressClass" };
      if (defaults.length > 1) {
        if (!twoDefaultsReported) {
          twoDefaultsReported = true;
          problems.push(
            problem(
              `IngressClass ${defaults.join(", ")}`,
              `annotation ${ANN.isDefaultClass}`,
              "true",
              "at most one default IngressClass",
              "Ingresses without a class cannot be assigned",
            ),
          );
        }
        return {
          ours: false,
          reason: `out of scope: no ingress class and ${defaults.length} default IngressClasses`,
        };
      }
      className = defaults[0]!;
    }
    const cls = classes.get(className);
    if (cls === undefined)
      return { ours: false, reason: `out of scope: IngressClass ${className} not found` };
    const controller = cls.spec?.controller ?? "";
    if (controller !== ALB_CONTROLLER) {
      return {
        ours: false,
        reason: `out of scope: ingress class ${className} (controller ${controller || "unset"})`,
      };
    }
    const ref0 = cls.spec?.parameters;
    if (ref0 === undefined || ref0.kind !== PARAMS_KIND) return { ours: true };
    const p = params.get(ref0.name);
    if (p === undefined) {
      return problem(
        ref,
        `IngressClass ${className} spec.parameters`,
        ref0.name,
        "an existing IngressClassParams",
      );
    }
    return { ours: true, params: p };
  };

  for (const ing of cluster.ingresses) {
    if (isDeleting(ing.metadata)) continue;
    const ref = ingressRef(ing.metadata);
    const verdict = classify(ing, ref);
    if (isProblem(verdict)) {
      problems.push(verdict);
      continue;
    }
    if (!verdict.ours) {
      skipped.push({ object: ref, reason: verdict.reason, by: "scope" });
      continue;
    }
    const excluded = namespaceExclusion(options.namespaces, ing.metadata.namespace ?? "default");
    if (excluded !== undefined) {
      skipped.push({ object: ref, reason: `out of scope: ${excluded}`, by: "namespace-policy" });
      continue;
    }
    const group = ingressGroup(ing, ref, verdict.params, problems);
    if (group === undefined) continue;
    const scoped: ScopedIngress = { ingress: ing, ref, group };
    if (verdict.params !== undefined) scoped.params = verdict.params;
    objects.push(scoped);
  }
  return { objects, skipped, problems };
}

function ingressGroup(
  ing: Ingress,
  ref: string,
  params: IngressClassParams | undefined,
  problems: Problem[],
): string | undefined {
  const order = annotation(ing.metadata, ANN.groupOrder);
  if (order !== undefined) {
    const n = /^-?\d+$/.test(order.trim()) ? Number(order.trim()) : Number.NaN;
    if (!(n >= GROUP_ORDER_MIN && n <= GROUP_ORDER_MAX)) {
      problems.push(
        problem(
          ref,
          `annotation ${ANN.groupOrder}`,
          order,
          `an integer from ${GROUP_ORDER_MIN} to ${GROUP_ORDER_MAX}`,
        ),
      );
      return undefined;
    }
  }
  // IngressClassParams' group beats the annotation, as in the LBC's group loader.
  const paramsGroup = params?.spec?.group?.name;
  const [name, field] =
    paramsGroup !== undefined
      ? [paramsGroup, `IngressClassParams ${params?.metadata.name} spec.group.name`]
      : [annotation(ing.metadata, ANN.groupName), `annotation ${ANN.groupName}`];
  if (name === undefined) return ref;
  if (name.length > GROUP_NAME_MAX || !GROUP_NAME.test(name)) {
    problems.push(
      problem(
        ref,
        field,
        name,
        `at most ${GROUP_NAME_MAX} lower-case alphanumerics, '-' or '.', starting and ending with an alphanumeric`,
      ),
    );
    return undefined;
  }
  return `IngressGroup ${name}`;
}

/** Which Services the LBC's service reconciler takes (pkg/service IsServiceSupported), NLB-SG-less ones aside. */
export function scopeServices(cluster: ClusterSnapshot, options: PlanOptions): ScopeResult<ScopedService> {
  const skipped: SkippedObject[] = [];
  const problems: Problem[] = [];
  const objects: ScopedService[] = [];
  for (const svc of cluster.services) {
    if (isDeleting(svc.metadata)) continue;
    const ref = serviceRef(svc.metadata);
    const outOfScope = serviceOutOfScope(svc, options);
    if (outOfScope !== undefined) {
      // Plain ClusterIP/NodePort Services are not load balancers at all: not worth a line in the report.
      if (outOfScope !== "")
        skipped.push({ object: ref, reason: `out of scope: ${outOfScope}`, by: "scope" });
      continue;
    }
    const excluded = namespaceExclusion(options.namespaces, svc.metadata.namespace ?? "default");
    if (excluded !== undefined) {
      skipped.push({ object: ref, reason: `out of scope: ${excluded}`, by: "namespace-policy" });
      continue;
    }
    const disableSg = annotation(svc.metadata, ANN.svcDisableNlbSg);
    if (disableSg !== undefined) {
      const v = parseGoBool(disableSg);
      if (v === undefined) {
        problems.push(problem(ref, `annotation ${ANN.svcDisableNlbSg}`, disableSg, GO_BOOL_EXPECTED));
        continue;
      }
      if (v) {
        skipped.push({
          object: ref,
          reason: `NLB without security groups (${ANN.svcDisableNlbSg}) uses CIDR rules: out of scope`,
          by: "unsupported",
        });
        continue;
      }
    }
    objects.push({ service: svc, ref });
  }
  return { objects, skipped, problems };
}

/** undefined when ours; "" when not a candidate at all; else the reason it is someone else's. */
function serviceOutOfScope(svc: Service, options: PlanOptions): string | undefined {
  const cls = svc.spec?.loadBalancerClass;
  if (cls !== undefined) {
    return cls === options.loadBalancerClass ? undefined : `loadBalancerClass ${cls}`;
  }
  const lbType = annotation(svc.metadata, ANN.svcLbType);
  if (lbType === "nlb-ip") return undefined;
  if (lbType === "external") {
    const tt = annotation(svc.metadata, ANN.svcTargetType);
    if (tt === "ip" || tt === "instance") return undefined;
    return `${ANN.svcLbType} external needs ${ANN.svcTargetType} ip or instance (is ${tt === undefined ? "unset" : JSON.stringify(tt)})`;
  }
  if (lbType !== undefined) return `${ANN.svcLbType} ${lbType} is handled by the in-tree cloud provider`;
  return svc.spec?.type === "LoadBalancer"
    ? "no loadBalancerClass and no aws-load-balancer-type annotation (in-tree cloud provider)"
    : "";
}
