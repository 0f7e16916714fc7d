// Annotation names and parsers, mirroring the LBC's pkg/annotations: the same keys, and booleans parsed as
// strictly as Go's strconv.ParseBool, so an object means the same thing to us as to the controller.

export const ALB = "alb.ingress.kubernetes.io/";
export const SVC = "service.beta.kubernetes.io/";

export const ANN = {
  ingressClass: "kubernetes.io/ingress.class",
  isDefaultClass: "ingressclass.kubernetes.io/is-default-class",
  groupName: `${ALB}group.name`,
  groupOrder: `${ALB}group.order`,
  ingSecurityGroups: `${ALB}security-groups`,
  ingManageRules: `${ALB}manage-backend-security-group-rules`,
  ingTargetType: `${ALB}target-type`,
  ingHealthCheckPort: `${ALB}healthcheck-port`,
  ingTargetNodeLabels: `${ALB}target-node-labels`,
  ingActionPrefix: `${ALB}actions.`,
  svcLbType: `${SVC}aws-load-balancer-type`,
  svcTargetType: `${SVC}aws-load-balancer-nlb-target-type`,
  svcSecurityGroups: `${SVC}aws-load-balancer-security-groups`,
  svcManageRules: `${SVC}aws-load-balancer-manage-backend-security-group-rules`,
  svcHealthCheckPort: `${SVC}aws-load-balancer-healthcheck-port`,
  svcTargetNodeLabels: `${SVC}aws-load-balancer-target-node-labels`,
  svcDisableNlbSg: `${SVC}aws-load-balancer-disable-nlb-sg`,
  podEni: "vpc.amazonaws.com/pod-eni",
} as const;

export const GO_BOOL_EXPECTED = "true or false (Go ParseBool: 1 t T TRUE true True 0 f F FALSE false False)";

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go's strconv.ParseBool: undefined means "not a boolean", which callers must report, never default. */
export function parseGoBool(raw: string): boolean | undefined {
  if (GO_TRUE.has(raw)) return true;
  if (GO_FALSE.has(raw)) return false;
  return undefined;
}

export function annotation(meta: { annotations?: Record<string, string> }, key: string): string | undefined {
  const value = meta.annotations?.[key];
  return value === undefined ? undefined : value;
}

/** Comma-separated list, items trimmed and empty items dropped (the LBC's ParseStringSliceAnnotation). */
export function parseStringList(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * `k1=v1, k2=v2` as the LBC's ParseStringMapAnnotation reads it. Returns undefined when an item has no `=`
 * or an empty key, so the caller can report the value.
 */
export function parseStringMap(raw: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const item of parseStringList(raw)) {
    const eq = item.indexOf("=");
    if (eq <= 0) return undefined;
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Kubernetes' intstr.Parse: a decimal integer is a number, anything else a name. */
export function parseIntOrString(raw: string): number | string {
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}
