import { ANN, annotation, GO_BOOL_EXPECTED, parseGoBool, parseStringList } from "./annotations.js";
import type { ObjectMeta, PlanOptions } from "./model.js";
import { type Problem, problem } from "./problems.js";
import type { SkippedBy } from "./skipped.js";

/**
 * Whether the backend rules of one Ingress group or one Service are managed, and what decided it.
 * "frontend-sg" means no explicit frontend SGs: the LBC creates its own and always manages the rules.
 */
export type Decision =
  | { managed: true; by: "frontend-sg" | "annotation" | "namespace-override" | "flag"; reason: string }
  | { managed: false; by: Extract<SkippedBy, "annotation" | "namespace-override" | "flag">; reason: string };

export type DecisionResult = { decision: Decision } | { problems: Problem[] };

interface Member {
  ref: string;
  metadata: ObjectMeta;
}

const FLAG = "manageBackendSecurityGroupRules";

/** Namespace override, then global flag: the fallback when no object annotation decides. */
function fallback(
  options: PlanOptions,
  namespaces: string[],
  subject: string,
  sgAnnotation: string,
): DecisionResult {
  const overrides = options.namespaces.overrides ?? {};
  const found = [...new Set(namespaces)]
    .sort()
    .filter((ns) => overrides[ns] !== undefined)
    .map((ns) => ({ ns, value: overrides[ns] === true }));
  const values = new Set(found.map((f) => f.value));
  if (values.size > 1) {
    const listed = found.map((f) => `${f.ns}=${f.value}`).join(", ");
    return {
      problems: [
        problem(subject, "namespace overrides", listed, "members' namespaces to agree on the manage setting"),
      ],
    };
  }
  const first = found[0];
  if (first !== undefined) {
    const reason = `namespace override ${first.ns}=${first.value}`;
    return {
      decision: first.value
        ? { managed: true, by: "namespace-override", reason }
        : { managed: false, by: "namespace-override", reason: `management off: ${reason}` },
    };
  }
  const reason = `global flag ${FLAG}=${options.manageBackendSecurityGroupRules} (frontend security groups set by annotation ${sgAnnotation})`;
  return {
    decision: options.manageBackendSecurityGroupRules
      ? { managed: true, by: "flag", reason }
      : { managed: false, by: "flag", reason: `management off: ${reason}` },
  };
}

function fromAnnotation(value: boolean, key: string): Decision {
  const reason = `annotation ${key}=${value}`;
  return value
    ? { managed: true, by: "annotation", reason }
    : { managed: false, by: "annotation", reason: `management off: ${reason}` };
}

const NO_FRONTEND_SG: Decision = {
  managed: true,
  by: "frontend-sg",
  reason: "no frontend security groups annotation: the LBC's own frontend SG, rules always managed",
};

/** An Ingress group decides once for all members (pkg/ingress model_builder buildManageSecurityGroupRulesFlag). */
export function decideIngressGroup(group: string, members: Member[], options: PlanOptions): DecisionResult {
  const problems: Problem[] = [];
  let sgList: { ref: string; list: string[] } | undefined;
  for (const m of members) {
    const raw = annotation(m.metadata, ANN.ingSecurityGroups);
    if (raw === undefined) continue;
    const list = parseStringList(raw);
    if (list.length === 0) continue;
    if (sgList === undefined) sgList = { ref: m.ref, list };
    else if (sgList.list.join(",") !== list.join(",")) {
      problems.push(
        problem(
          group,
          `annotation ${ANN.ingSecurityGroups} of ${m.ref}`,
          list.join(","),
          `the same list as ${sgList.ref} (${sgList.list.join(",")})`,
        ),
      );
    }
  }
  if (problems.length > 0) return { problems };
  if (sgList === undefined) return { decision: NO_FRONTEND_SG };

  const seen = new Map<boolean, string>();
  for (const m of members) {
    const raw = annotation(m.metadata, ANN.ingManageRules);
    if (raw === undefined) continue;
    const v = parseGoBool(raw);
    if (v === undefined)
      problems.push(problem(m.ref, `annotation ${ANN.ingManageRules}`, raw, GO_BOOL_EXPECTED));
    else if (!seen.has(v)) seen.set(v, m.ref);
  }
  if (problems.length > 0) return { problems };
  if (seen.size > 1) {
    return {
      problems: [
        problem(
          group,
          `annotation ${ANN.ingManageRules}`,
          `true on ${seen.get(true)}, false on ${seen.get(false)}`,
          "every member that sets it to agree",
        ),
      ],
    };
  }
  const only = [...seen.keys()][0];
  if (only !== undefined) return { decision: fromAnnotation(only, ANN.ingManageRules) };
  return fallback(
    options,
    members.map((m) => m.metadata.namespace ?? "default"),
    group,
    ANN.ingSecurityGroups,
  );
}

/** A Service (NLB) decides alone. */
export function decideService(ref: string, metadata: ObjectMeta, options: PlanOptions): DecisionResult {
  const raw = annotation(metadata, ANN.svcSecurityGroups);
  if (raw === undefined || parseStringList(raw).length === 0) return { decision: NO_FRONTEND_SG };
  const manage = annotation(metadata, ANN.svcManageRules);
  if (manage !== undefined) {
    const v = parseGoBool(manage);
    if (v === undefined)
      return { problems: [problem(ref, `annotation ${ANN.svcManageRules}`, manage, GO_BOOL_EXPECTED)] };
    return { decision: fromAnnotation(v, ANN.svcManageRules) };
  }
  return fallback(options, [metadata.namespace ?? "default"], ref, ANN.svcSecurityGroups);
}
