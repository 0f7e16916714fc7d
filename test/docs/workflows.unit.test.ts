// The pipeline example's GitHub Actions workflows pass actionlint, when actionlint is available: $ACTIONLINT,
// or the binary `bash scripts/actionlint.sh --path` builds into ~/.cache/lbc-backend-sg/ (CI runs that first).
// Without it the lint test is skipped, never silently passed. Not proven: that the workflows run on GitHub.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "..", "..");
const dir = path.join(root, "examples/pipeline/.github/workflows");
const cached = path.join(
  process.env.LBC_SG_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "lbc-backend-sg"),
  "actionlint-v1.7.12/actionlint",
);
const actionlint = process.env.ACTIONLINT ?? (fs.existsSync(cached) ? cached : undefined);

const workflows = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".yml"))
  .sort();

test("the pipeline has the three workflows, each running the command the issue asks for", () => {
  assert.deepEqual(workflows, ["drift.yml", "preview.yml", "up.yml"]);
  const text = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  assert.match(text("preview.yml"), /^ {2}pull_request:/m);
  assert.match(text("preview.yml"), /pulumi preview --diff /);
  assert.match(
    text("preview.yml"),
    /node scripts\/rule-plan-summary\.ts preview\.json >> "\$GITHUB_STEP_SUMMARY"/,
  );
  assert.match(text("up.yml"), /^ {2}push:\n {4}branches: \[main\]/m);
  assert.match(text("up.yml"), /pulumi up --yes /);
  assert.match(text("drift.yml"), /^ {2}schedule:/m);
  assert.match(text("drift.yml"), /pulumi preview --refresh --expect-no-changes /);
});

test("actionlint finds no problem in the workflows", {
  skip: actionlint === undefined && "actionlint not built",
}, () => {
  const res = spawnSync(actionlint!, ["-no-color", ...workflows.map((f) => path.join(dir, f))], {
    encoding: "utf8",
  });
  assert.equal(res.stdout + res.stderr, "");
  assert.equal(res.status, 0);
});
