// `lbc-backend-sg plan`: the planner over a `kubectl get … -o json` List, offline. `--target-sg` stands in for the
// EC2 lookups (every target's destination), so the command needs no AWS credentials and changes nothing.
import { parseArgs } from "node:util";
import {
  type ClusterSnapshot,
  DEFAULT_PLAN_OPTIONS,
  type DesiredRule,
  type Ec2Snapshot,
  type EndpointSlice,
  type ExistingRule,
  type Ingress,
  type IngressClass,
  type IngressClassParams,
  type Node,
  type PlanOptions,
  type Pod,
  type PortMode,
  type Problem,
  parseGoBool,
  planRules,
  type RulePlan,
  type Service,
  type SkippedObject,
  type TargetType,
} from "../domain/index.js";

export const EXIT_OK = 0;
export const EXIT_IO = 1;
export const EXIT_INVALID = 2;

export interface CommandIo {
  readFile(path: string): Promise<string>;
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export const USAGE = `Usage: lbc-backend-sg plan --file <path|-> --backend-sg <sg-id> --target-sg <sg-id> [flags]

Reads a Kubernetes List (kubectl get ingress,ingressclass,svc,endpointslices,pods,nodes -A -o json) and prints
the backend security group rules the AWS Load Balancer Controller's objects need. Offline: --target-sg stands in
for the EC2 lookups of node and pod ENIs; nothing is changed.

Flags:
  --file <path|->                   the List JSON; - reads stdin (required)
  --backend-sg <sg-id>              the source of every rule: the cluster's backend SG (required)
  --target-sg <sg-id>               destination SG for every target; repeatable (required)
  --cluster-name <name>             cluster name (default "")
  --manage-backend-sg-rules <bool>  global flag: true|false (default false)
  --namespace-override <ns=bool>    per-namespace value of the flag; repeatable
  --namespace <ns>                  only these namespaces; repeatable
  --exclude-namespace <ns>          never these namespaces; repeatable
  --port-mode <mode>                minimal|range|all (default minimal)
  --ingress-class <name>            (default alb)
  --load-balancer-class <name>      (default service.k8s.aws/nlb)
  --default-target-type <type>      instance|ip (default instance)
  --rule-quota <n>                  rules per security group (default 60)
  --owner-id <id>                   (default lbc-backend-sg)
  --output <format>                 table|json (default table)

Exit codes: 0 plan printed; 1 input unreadable; 2 invalid flags or the plan has problems (all printed).`;

const STRING_FLAGS = [
  "file",
  "backend-sg",
  "cluster-name",
  "manage-backend-sg-rules",
  "port-mode",
  "ingress-class",
  "load-balancer-class",
  "default-target-type",
  "rule-quota",
  "owner-id",
  "output",
] as const;
const MULTI_FLAGS = ["target-sg", "namespace", "exclude-namespace", "namespace-override"] as const;
const SG_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;

export interface PlanCommandArgs {
  file: string;
  output: "table" | "json";
  options: PlanOptions;
  backendSg: string;
  ruleQuota: number;
}

function oneOf<T extends string>(
  flag: string,
  value: string,
  valid: readonly T[],
  errors: string[],
): T | undefined {
  if ((valid as readonly string[]).includes(value)) return value as T;
  errors.push(`--${flag}: ${JSON.stringify(value)} is not valid; expected one of ${valid.join(", ")}`);
  return undefined;
}

/** Every flag error at once, each naming the flag, the value and what is valid. */
export function parsePlanArgs(argv: string[]): { args: PlanCommandArgs } | { errors: string[] } {
  const errors: string[] = [];
  const options: Record<string, { type: "string"; multiple?: boolean }> = {};
  for (const f of STRING_FLAGS) options[f] = { type: "string" };
  for (const f of MULTI_FLAGS) options[f] = { type: "string", multiple: true };
  // strict:false so one pass can report every unknown flag and missing value, not just the first.
  const parsed = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const known = new Set<string>([...STRING_FLAGS, ...MULTI_FLAGS]);
  for (const t of parsed.tokens ?? []) {
    if (t.kind === "option") {
      if (!known.has(t.name))
        errors.push(`${t.rawName}: unknown flag; valid flags: ${[...known].map((k) => `--${k}`).join(", ")}`);
      else if (t.value === undefined) errors.push(`${t.rawName}: missing value`);
    } else if (t.kind === "positional") {
      errors.push(`${JSON.stringify(t.value)}: unexpected argument; flags take the form --name value`);
    }
  }
  const str = (name: string): string | undefined => {
    const v = parsed.values[name];
    return typeof v === "string" ? v : undefined;
  };
  const list = (name: string): string[] => {
    const v = parsed.values[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  };

  const file = str("file");
  if (file === undefined && !errors.some((e) => e.startsWith("--file")))
    errors.push("--file: required; a path or - for stdin");
  const backendSg = str("backend-sg");
  if (backendSg === undefined) errors.push("--backend-sg: required; the backend security group id (sg-…)");
  else if (!SG_ID.test(backendSg))
    errors.push(
      `--backend-sg: ${JSON.stringify(backendSg)} is not valid; expected a security group id like sg-0123456789abcdef0`,
    );
  const targets = list("target-sg");
  if (targets.length === 0)
    errors.push(
      "--target-sg: required offline (it stands in for the EC2 ENI lookups); repeat it for several SGs",
    );
  for (const t of targets) {
    if (!SG_ID.test(t))
      errors.push(
        `--target-sg: ${JSON.stringify(t)} is not valid; expected a security group id like sg-0123456789abcdef0`,
      );
  }
  let flag = DEFAULT_PLAN_OPTIONS.manageBackendSecurityGroupRules;
  const rawFlag = str("manage-backend-sg-rules");
  if (rawFlag !== undefined) {
    const v = parseGoBool(rawFlag);
    if (v === undefined)
      errors.push(
        `--manage-backend-sg-rules: ${JSON.stringify(rawFlag)} is not valid; expected true or false`,
      );
    else flag = v;
  }
  const overrides: Record<string, boolean> = {};
  for (const o of list("namespace-override")) {
    const eq = o.indexOf("=");
    const v = eq > 0 ? parseGoBool(o.slice(eq + 1)) : undefined;
    if (v === undefined)
      errors.push(
        `--namespace-override: ${JSON.stringify(o)} is not valid; expected <namespace>=true or <namespace>=false`,
      );
    else overrides[o.slice(0, eq)] = v;
  }
  const portMode = oneOf<PortMode>(
    "port-mode",
    str("port-mode") ?? "minimal",
    ["minimal", "range", "all"],
    errors,
  );
  const targetType = oneOf<TargetType>(
    "default-target-type",
    str("default-target-type") ?? "instance",
    ["instance", "ip"],
    errors,
  );
  const output = oneOf("output", str("output") ?? "table", ["table", "json"] as const, errors);
  const rawQuota = str("rule-quota") ?? "60";
  const ruleQuota = /^\d+$/.test(rawQuota) ? Number(rawQuota) : Number.NaN;
  if (!(ruleQuota >= 1 && ruleQuota <= 1000))
    errors.push(`--rule-quota: ${JSON.stringify(rawQuota)} is not valid; expected an integer from 1 to 1000`);
  for (const name of ["ingress-class", "load-balancer-class", "owner-id"]) {
    if (str(name) === "") errors.push(`--${name}: "" is not valid; expected a non-empty name`);
  }
  if (errors.length > 0 || file === undefined || backendSg === undefined) return { errors };
  if (portMode === undefined || targetType === undefined || output === undefined) return { errors };

  const namespaces: PlanOptions["namespaces"] = {};
  if (list("namespace").length > 0) namespaces.include = list("namespace");
  if (list("exclude-namespace").length > 0) namespaces.exclude = list("exclude-namespace");
  if (Object.keys(overrides).length > 0) namespaces.overrides = overrides;
  return {
    args: {
      file,
      output,
      backendSg,
      ruleQuota,
      options: {
        ...DEFAULT_PLAN_OPTIONS,
        clusterName: str("cluster-name") ?? "",
        ownerId: str("owner-id") ?? "lbc-backend-sg",
        manageBackendSecurityGroupRules: flag,
        portMode,
        defaultTargetType: targetType,
        ingressClass: str("ingress-class") ?? DEFAULT_PLAN_OPTIONS.ingressClass,
        loadBalancerClass: str("load-balancer-class") ?? DEFAULT_PLAN_OPTIONS.loadBalancerClass,
        namespaces,
        targetSecurityGroupIds: targets,
      },
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A kubectl List (or a single object) into a snapshot; unknown kinds are ignored. */
export function snapshotFromKubeList(text: string, source: string): ClusterSnapshot | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return {
      error: `${source}: not JSON (${e instanceof Error ? e.message : String(e)}); expected the output of kubectl get … -o json`,
    };
  }
  const items: unknown[] = isRecord(doc) && Array.isArray(doc.items) ? doc.items : [doc];
  const snap: ClusterSnapshot = {
    ingresses: [],
    ingressClasses: [],
    ingressClassParams: [],
    services: [],
    endpointSlices: [],
    pods: [],
    nodes: [],
  };
  for (const [i, item] of items.entries()) {
    if (!isRecord(item) || !isRecord(item.metadata) || typeof item.metadata.name !== "string") {
      return { error: `${source}: items[${i}] has no metadata.name; expected Kubernetes objects` };
    }
    // The shapes are the API's own (see domain/model.ts); the planner reads them defensively.
    switch (item.kind) {
      case "Ingress":
        snap.ingresses.push(item as unknown as Ingress);
        break;
      case "IngressClass":
        snap.ingressClasses.push(item as unknown as IngressClass);
        break;
      case "IngressClassParams":
        snap.ingressClassParams.push(item as unknown as IngressClassParams);
        break;
      case "Service":
        snap.services.push(item as unknown as Service);
        break;
      case "EndpointSlice":
        snap.endpointSlices.push(item as unknown as EndpointSlice);
        break;
      case "Pod":
        snap.pods.push(item as unknown as Pod);
        break;
      case "Node":
        snap.nodes.push(item as unknown as Node);
        break;
      default:
        break;
    }
  }
  return snap;
}

/** The stable `--output json` schema (documented in provider/cli/plan-output.md). */
export interface PlanJson {
  schemaVersion: 1;
  portMode: PortMode;
  rules: DesiredRule[];
  toRevoke: ExistingRule[];
  skipped: SkippedObject[];
  problems: Problem[];
  extraPortsOpened: number;
  extraPortsByMode: Record<PortMode, number>;
  counts: RulePlan["counts"];
}

export function planToJson(plan: RulePlan, portMode: PortMode): PlanJson {
  return {
    schemaVersion: 1,
    portMode,
    rules: Object.values(plan.rules),
    toRevoke: plan.toRevoke,
    skipped: plan.skipped,
    problems: plan.problems,
    extraPortsOpened: plan.extraPortsOpened,
    extraPortsByMode: plan.extraPortsByMode,
    counts: plan.counts,
  };
}

function table(rows: string[][], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) =>
    (indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).trimEnd(),
  );
}

export function planToTable(plan: RulePlan, portMode: PortMode): string {
  const c = plan.counts;
  const lines: string[] = [
    `Plan: ${c.rules} rules (${c.toAuthorize} to authorize, ${c.rules - c.toAuthorize - c.foreign - c.adopt} present, ${c.foreign} satisfied by rules not ours, ${c.adopt} to adopt), ${c.toRevoke} to revoke`,
    `Objects: ${c.ingresses} Ingresses, ${c.services} Services in scope; ${c.managedObjects} managed, ${c.skipped} skipped; ${c.problems} problems`,
    `Port mode ${portMode}: ${plan.extraPortsOpened} extra ports opened (minimal ${plan.extraPortsByMode.minimal}, range ${plan.extraPortsByMode.range}, all ${plan.extraPortsByMode.all})`,
  ];
  const bySg = new Map<string, DesiredRule[]>();
  for (const r of Object.values(plan.rules)) {
    const list = bySg.get(r.securityGroupId) ?? [];
    list.push(r);
    bySg.set(r.securityGroupId, list);
  }
  for (const [sg, rules] of bySg) {
    lines.push("", `Security group ${sg}`);
    const rows = [["PROTO", "PORTS", "SOURCE", "STATE", "NEEDED BY"]];
    // Numeric port order reads better than the key's string order.
    const ordered = [...rules].sort((a, b) =>
      a.protocol < b.protocol
        ? -1
        : a.protocol > b.protocol
          ? 1
          : a.fromPort - b.fromPort || a.toPort - b.toPort,
    );
    for (const r of ordered) {
      const ports = r.fromPort === r.toPort ? String(r.fromPort) : `${r.fromPort}-${r.toPort}`;
      rows.push([r.protocol, ports, r.sourceSecurityGroupId, r.state, r.neededBy.join(", ")]);
    }
    lines.push(...table(rows, "  "));
  }
  if (plan.toRevoke.length > 0) {
    lines.push("", "To revoke (owned, no longer needed)");
    lines.push(
      ...table(
        plan.toRevoke.map((r) => [
          r.groupId,
          r.ruleId,
          r.protocol,
          `${r.fromPort}-${r.toPort}`,
          r.sourceSecurityGroupId ?? r.cidr ?? "",
        ]),
        "  ",
      ),
    );
  }
  if (plan.skipped.length > 0) {
    lines.push("", "Skipped");
    lines.push(
      ...table(
        plan.skipped.map((s) => [s.object, s.reason]),
        "  ",
      ),
    );
  }
  if (plan.problems.length > 0) {
    lines.push("", `Problems (${plan.problems.length})`);
    for (const p of plan.problems) lines.push(`  ${p.message}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function runPlanCommand(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parsePlanArgs(argv);
  if ("errors" in parsed) {
    io.stderr(
      `lbc-backend-sg plan: invalid flags\n${parsed.errors.map((e) => `  ${e}`).join("\n")}\n\n${USAGE}\n`,
    );
    return EXIT_INVALID;
  }
  const { args } = parsed;
  let text: string;
  try {
    text = args.file === "-" ? await io.readStdin() : await io.readFile(args.file);
  } catch (e) {
    io.stderr(
      `lbc-backend-sg plan: cannot read --file ${args.file}: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return EXIT_IO;
  }
  const snap = snapshotFromKubeList(text, args.file === "-" ? "stdin" : args.file);
  if ("error" in snap) {
    io.stderr(`lbc-backend-sg plan: ${snap.error}\n`);
    return EXIT_IO;
  }
  const ec2: Ec2Snapshot = {
    backendSecurityGroupId: args.backendSg,
    instancePrimaryEni: {},
    networkInterfaces: {},
    securityGroups: {},
    rules: {},
    ruleQuota: args.ruleQuota,
  };
  const plan = planRules(snap, ec2, args.options);
  io.stdout(
    args.output === "json"
      ? `${JSON.stringify(planToJson(plan, args.options.portMode), null, 2)}\n`
      : planToTable(plan, args.options.portMode),
  );
  return plan.problems.length > 0 ? EXIT_INVALID : EXIT_OK;
}
