// The examples under examples/*/ type-check (strict, as the rest of the repo) against the package's source.
// Not proven here: that they deploy (they need AWS, provider plugins and Helm), nor that their Pulumi.yaml is valid.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "..", "..");

test("every example is a Pulumi project with a README, an index.ts and a package.json naming the package", () => {
  const projects = ["eks-with-lbc", "existing-cluster", "namespace-policy"];
  for (const name of projects) {
    const dir = path.join(root, "examples", name);
    for (const file of ["Pulumi.yaml", "index.ts", "package.json", "README.md"])
      assert.ok(fs.existsSync(path.join(dir, file)), `examples/${name}/${file} is missing`);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    assert.equal(pkg.dependencies?.["pulumi-lbc-backend-sg"], "^0.1.0", `examples/${name}/package.json`);
    assert.match(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"), /^runtime:\n {2}name: nodejs$/m);
  }
  assert.ok(fs.existsSync(path.join(root, "examples/pipeline/README.md")));
});

test("tsc -p tsconfig.examples.json type-checks every example with exit code 0", () => {
  const tsc = path.join(root, "node_modules", ".bin", "tsc");
  const res = spawnSync(tsc, ["-p", "tsconfig.examples.json", "--noEmit", "--listFiles"], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const checked = res.stdout
    .split("\n")
    .map((f) => path.relative(root, f))
    .filter((f) => f.startsWith("examples/"))
    .sort();
  assert.deepEqual(checked, [
    "examples/eks-with-lbc/index.ts",
    "examples/existing-cluster/index.ts",
    "examples/namespace-policy/index.ts",
    "examples/pipeline/scripts/rule-plan-summary.ts",
  ]);
});
