// Is the kubeconfig pointing at the named cluster? The node instances tell: EKS and its node groups tag them
// `kubernetes.io/cluster/<name>` and `eks:cluster-name=<name>`. Planning against another cluster would make every
// rule of this one look obsolete, so a mismatch is a problem, never a plan.
import { type Problem, problem } from "./problems.js";

export const EKS_CLUSTER_NAME_TAG = "eks:cluster-name";
const CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/";
const SHOWN_INSTANCES = 5;

/** True when the instance's tags say it belongs to `clusterName`. */
export function instanceBelongsTo(tags: Record<string, string>, clusterName: string): boolean {
  return `${CLUSTER_TAG_PREFIX}${clusterName}` in tags || tags[EKS_CLUSTER_NAME_TAG] === clusterName;
}

/** The tags that name a cluster, as `key=value`, sorted. */
function clusterTagsOf(tags: Record<string, string>): string[] {
  return Object.keys(tags)
    .filter((k) => k.startsWith(CLUSTER_TAG_PREFIX) || k === EKS_CLUSTER_NAME_TAG)
    .sort()
    .map((k) => `${k}=${tags[k]}`);
}

/**
 * A problem when node instances were checked and none carries either tag for `clusterName`; undefined when one
 * does, or when there is no instance to check (a cluster without nodes). `instanceTags`: instance id -> tags.
 */
export function clusterIdentityProblem(
  clusterName: string,
  instanceTags: Record<string, Record<string, string>>,
): Problem | undefined {
  const ids = Object.keys(instanceTags).sort();
  if (ids.length === 0) return undefined;
  if (ids.some((id) => instanceBelongsTo(instanceTags[id] ?? {}, clusterName))) return undefined;
  const shown = ids.slice(0, SHOWN_INSTANCES).map((id) => {
    const found = clusterTagsOf(instanceTags[id] ?? {});
    return `${id} (${found.length > 0 ? found.join(", ") : "no cluster tags"})`;
  });
  const more = ids.length > SHOWN_INSTANCES ? ` and ${ids.length - SHOWN_INSTANCES} more` : "";
  return problem(
    `cluster "${clusterName}"`,
    "node instances",
    `${shown.join("; ")}${more}`,
    `at least one of the ${ids.length} node instances checked to carry tag ${CLUSTER_TAG_PREFIX}${clusterName} or ${EKS_CLUSTER_NAME_TAG}=${clusterName}`,
    "the kubeconfig seems to point at another cluster; planning against it would revoke this cluster's rules",
  );
}
