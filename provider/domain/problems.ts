// Problems are collected, never thrown: the plan reports every one at once, each naming the object, the
// field, the bad value and what is valid, so a user fixes them all in one pass.

export interface Problem {
  /** "Ingress team-a/web" | "Service ns/x" | "IngressGroup name" | "ENI eni-…" | "SecurityGroup sg-…" | "options" */
  object: string;
  field: string;
  value: string;
  expected: string;
  /** full sentence, e.g. `Ingress team-a/web: annotation … is "yes"; expected true or false` */
  message: string;
}

/** The standard shape: `<object>: <field> is "<value>"; expected <expected>` plus an optional reason. */
export function problem(
  object: string,
  field: string,
  value: string,
  expected: string,
  why?: string,
): Problem {
  const suffix = why === undefined ? "" : ` (${why})`;
  return {
    object,
    field,
    value,
    expected,
    message: `${object}: ${field} is ${value === "" ? "unset" : JSON.stringify(value)}; expected ${expected}${suffix}`,
  };
}

export function formatProblem(p: Problem): string {
  return p.message;
}

export function compareProblems(a: Problem, b: Problem): number {
  return cmp(a.object, b.object) || cmp(a.field, b.field) || cmp(a.message, b.message);
}

/** Sorted and without exact duplicates (the same pod can be reached from several Services). */
export function normalizeProblems(list: Problem[]): Problem[] {
  const sorted = [...list].sort(compareProblems);
  return sorted.filter((p, i) => i === 0 || p.message !== sorted[i - 1]?.message);
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
