import type { NamespacePolicy } from "./model.js";

// Beyond the LBC: a platform team can limit the plan to some namespaces and set the flag per namespace.
// Precedence for the manage decision: object annotation > namespace override > global flag.

/** Why a namespace is left out, or undefined when it is in. */
export function namespaceExclusion(policy: NamespacePolicy, namespace: string): string | undefined {
  if (policy.exclude?.includes(namespace))
    return `namespace ${namespace} is excluded by the namespace policy`;
  const include = policy.include ?? [];
  if (include.length > 0 && !include.includes(namespace)) {
    return `namespace ${namespace} is not in the namespace policy's include list`;
  }
  return undefined;
}
