// Runs the real command as a child process on fixture files. What this does not prove: EC2 discovery (the
// command is offline; --target-sg stands in for it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(__dirname, "..", "..");
const BACKEND = "sg-0b1a2c3d4e5f60718";
const TARGET = "sg-0a1b2c3d4e5f60789";
const BASE = ["--backend-sg", BACKEND, "--target-sg", TARGET];

function run(args: string[], stdin?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "provider/cli/main.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    ...(stdin === undefined ? {} : { input: stdin }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("plan prints the rules grouped by security group, then the skipped objects, and exits 0", () => {
  const r = run(["plan", "--file", "test/fixtures/cluster.json", ...BASE]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    [
      "Plan: 4 rules (4 to authorize, 0 present, 0 satisfied by rules not ours, 0 to adopt), 0 to revoke",
      "Objects: 3 Ingresses, 1 Services in scope; 3 managed, 3 skipped; 0 problems",
      "Port mode minimal: 0 extra ports opened (minimal 0, range 23971, all 131068)",
      "",
      `Security group ${TARGET}`,
      "  PROTO  PORTS  SOURCE                STATE      NEEDED BY",
      `  tcp    8080   ${BACKEND}  authorize  Ingress shop/checkout`,
      `  tcp    31080  ${BACKEND}  authorize  Ingress shop/storefront`,
      `  tcp    32053  ${BACKEND}  authorize  Service dns/coredns-public`,
      `  udp    30053  ${BACKEND}  authorize  Service dns/coredns-public`,
      "",
      "Skipped",
      "  Ingress blog/site        out of scope: ingress class nginx (controller k8s.io/ingress-nginx)",
      "  Ingress internal/admin   management off: annotation alb.ingress.kubernetes.io/manage-backend-security-group-rules=false",
      "  Service edge/legacy-nlb  NLB without security groups (service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg) uses CIDR rules: out of scope",
      "",
    ].join("\n"),
  );
});

test("--output json carries every rule with its identity key, the skipped objects and the counts", () => {
  const r = run([
    "plan",
    "--file",
    "test/fixtures/cluster.json",
    ...BASE,
    "--output",
    "json",
    "--port-mode",
    "range",
  ]);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout) as {
    schemaVersion: number;
    rules: Array<{ key: string; neededBy: string[]; ports: number[] }>;
    skipped: Array<{ object: string; by: string }>;
    counts: { rules: number; skipped: number };
  };
  assert.equal(doc.schemaVersion, 1);
  assert.deepEqual(
    doc.rules.map((x) => [x.key, x.ports, x.neededBy]),
    [
      [
        `${TARGET}|tcp|8080-32053|${BACKEND}`,
        [8080, 31080, 32053],
        ["Ingress shop/checkout", "Ingress shop/storefront", "Service dns/coredns-public"],
      ],
      [`${TARGET}|udp|30053-30053|${BACKEND}`, [30053], ["Service dns/coredns-public"]],
    ],
  );
  assert.deepEqual(
    doc.skipped.map((s) => [s.object, s.by]),
    [
      ["Ingress blog/site", "scope"],
      ["Ingress internal/admin", "annotation"],
      ["Service edge/legacy-nlb", "unsupported"],
    ],
  );
  assert.equal(doc.counts.rules, 2);
});

test("--file - reads the List from stdin", () => {
  const r = run(
    ["plan", "--file", "-", ...BASE, "--output", "json"],
    readFileSync(join(ROOT, "test/fixtures/cluster.json"), "utf8"),
  );
  assert.equal(r.code, 0);
  assert.equal((JSON.parse(r.stdout) as { counts: { rules: number } }).counts.rules, 4);
});

test("a namespace override does not beat the object's own manage annotation", () => {
  const r = run([
    "plan",
    "--file",
    "test/fixtures/cluster.json",
    ...BASE,
    "--output",
    "json",
    "--namespace-override",
    "internal=true",
  ]);
  const doc = JSON.parse(r.stdout) as {
    skipped: Array<{ object: string }>;
    rules: Array<{ key: string; neededBy: string[] }>;
  };
  assert.deepEqual(
    doc.skipped.map((s) => s.object),
    ["Ingress blog/site", "Ingress internal/admin", "Service edge/legacy-nlb"],
  );
});

test("--exclude-namespace leaves a namespace's objects out with the reason", () => {
  const r = run([
    "plan",
    "--file",
    "test/fixtures/cluster.json",
    ...BASE,
    "--output",
    "json",
    "--exclude-namespace",
    "dns",
  ]);
  const doc = JSON.parse(r.stdout) as { skipped: Array<{ object: string; reason: string }> };
  assert.deepEqual(
    doc.skipped.find((s) => s.object === "Service dns/coredns-public"),
    {
      object: "Service dns/coredns-public",
      reason: "out of scope: namespace dns is excluded by the namespace policy",
      by: "namespace-policy",
    },
  );
});

test("problems are all printed and the exit code is 2", () => {
  const r = run(["plan", "--file", "test/fixtures/problems.json", ...BASE]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stdout.split("\n").slice(-4).join("\n"),
    [
      "Problems (2)",
      "  Ingress team-a/api: Service team-a/api port http nodePort is unset; expected a nodePort: instance targets need a Service of type NodePort or LoadBalancer",
      '  Ingress team-a/web: annotation alb.ingress.kubernetes.io/manage-backend-security-group-rules is "yes"; expected true or false (Go ParseBool: 1 t T TRUE true True 0 f F FALSE false False)',
      "",
    ].join("\n"),
  );
});

test("bad flags are all reported, naming the flag, the value and what is valid, with exit 2", () => {
  const r = run([
    "plan",
    "--file",
    "x.json",
    "--port-mode",
    "wide",
    "--manage-backend-sg-rules",
    "yes",
    "--target-sg",
    "nope",
    "--output",
    "yaml",
  ]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  const lines = r.stderr.split("\n\n")[0]?.split("\n");
  assert.deepEqual(lines, [
    "lbc-backend-sg plan: invalid flags",
    "  --backend-sg: required; the backend security group id (sg-…)",
    '  --target-sg: "nope" is not valid; expected a security group id like sg-0123456789abcdef0',
    '  --manage-backend-sg-rules: "yes" is not valid; expected true or false',
    '  --port-mode: "wide" is not valid; expected one of minimal, range, all',
    '  --output: "yaml" is not valid; expected one of table, json',
  ]);
});

test("an unknown flag is reported with the valid ones", () => {
  const r = run(["plan", "--file", "test/fixtures/cluster.json", ...BASE, "--colour=always"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ {2}--colour: unknown flag; valid flags: --file, --backend-sg, /m);
});

test("an unreadable file exits 1 naming the file", () => {
  const r = run(["plan", "--file", "test/fixtures/missing.json", ...BASE]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lbc-backend-sg plan: cannot read --file test\/fixtures\/missing\.json: ENOENT/);
});

test("input that is not JSON exits 1 and says what was expected", () => {
  const r = run(["plan", "--file", "-", ...BASE], "not json");
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^lbc-backend-sg plan: stdin: not JSON \(.*\); expected the output of kubectl get … -o json\n$/,
  );
});

test("an unknown command exits 2", () => {
  const r = run(["apply"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^lbc-backend-sg: unknown command "apply"; expected plan/);
});
