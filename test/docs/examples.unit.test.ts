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

/** The ```ts blocks of README.md: the usage example users copy. */
function readmeSnippets(): string[] {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test("tsc type-checks every example and README's usage example, with exit code 0", () => {
  // The README snippet goes to a scratch directory under node_modules/.cache (ignored by git), checked in the same
  // tsc run as examples/tsconfig.json's files, with its options.
  const scratch = path.join(root, "node_modules", ".cache", "lbc-backend-sg-docs");
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  const snippets = readmeSnippets();
  assert.equal(snippets.length, 1, "README.md has one ```ts usage example");
  snippets.forEach((code, i) => {
    fs.writeFileSync(path.join(scratch, `readme-${i}.ts`), code);
  });
  fs.writeFileSync(
    path.join(scratch, "tsconfig.json"),
    JSON.stringify({
      extends: path.join(root, "examples/tsconfig.json"),
      include: [
        path.join(root, "examples/*/*.ts"),
        path.join(root, "examples/*/scripts/**/*.ts"),
        "readme-*.ts",
      ],
      exclude: [path.join(root, "examples/sandbox")],
    }),
  );
  const tsc = path.join(root, "node_modules", ".bin", "tsc");
  const res = spawnSync(tsc, ["-p", path.join(scratch, "tsconfig.json"), "--noEmit", "--listFiles"], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const checked = res.stdout
    .split("\n")
    .map((f) => path.relative(root, f))
    .filter((f) => f.startsWith("examples/") || f.includes("lbc-backend-sg-docs/readme-"))
    .sort();
  assert.deepEqual(checked, [
    "examples/eks-with-lbc/index.ts",
    "examples/existing-cluster/index.ts",
    "examples/namespace-policy/index.ts",
    "examples/pipeline/scripts/rule-plan-summary.ts",
    "node_modules/.cache/lbc-backend-sg-docs/readme-0.ts",
  ]);
});

test("examples/tsconfig.json alone covers the examples (what `npx tsc -p examples/tsconfig.json` checks)", () => {
  const tsc = path.join(root, "node_modules", ".bin", "tsc");
  const res = spawnSync(tsc, ["-p", "examples/tsconfig.json", "--listFilesOnly"], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(
    res.stdout.split("\n").filter((f) => path.relative(root, f).startsWith("examples/")).length,
    4,
  );
});
