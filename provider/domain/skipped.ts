export type SkippedBy =
  | "annotation"
  | "namespace-override"
  | "flag"
  | "scope"
  | "namespace-policy"
  | "unsupported";

/** An object we read and deliberately create no rules for, with the reason in a sentence. */
export interface SkippedObject {
  object: string;
  reason: string;
  by?: SkippedBy;
}

export function ingressRef(meta: { namespace?: string; name: string }): string {
  return `Ingress ${meta.namespace ?? "default"}/${meta.name}`;
}

export function serviceRef(meta: { namespace?: string; name: string }): string {
  return `Service ${meta.namespace ?? "default"}/${meta.name}`;
}
