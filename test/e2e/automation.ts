import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { pulumiEnv } from "../sandbox/pulumi";

const repoRoot = path.resolve(__dirname, "..", "..");

export interface TestStack {
  stack: Stack;
  workDir: string;
  backendDir: string;
  /** collected CLI output of the last operation (what a user sees in the terminal) */
  dispose(): Promise<void>;
}

/**
 * An inline Automation API program driven by the real Pulumi CLI on a file backend in a temp folder. Inline
 * programs need no Node language host (the CLI connects back to this process), which the module proxy does not
 * serve; the dynamic-provider plugin is the one shipped inside @pulumi/pulumi.
 */
export async function inlineStack(
  projectName: string,
  program: PulumiFn,
  extraEnv: Record<string, string> = {},
): Promise<TestStack> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "lbc-sg-e2e-"));
  const penv = pulumiEnv(workDir, extraEnv);
  // The Automation API finds `pulumi` on this process's PATH, and the CLI inherits this environment.
  process.env.PATH = penv.env.PATH;
  fs.mkdirSync(path.join(workDir, "project"));
  // The dynamic-provider plugin resolves @pulumi/pulumi (and the provider's modules) from the project folder.
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "project", "node_modules"));
  const envVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(penv.env))
    if (v !== undefined && (k.startsWith("PULUMI_") || k in extraEnv)) envVars[k] = v;
  envVars.PATH = penv.env.PATH ?? "";
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "dev", projectName, program },
    {
      workDir: path.join(workDir, "project"),
      envVars,
      projectSettings: {
        name: projectName,
        runtime: "nodejs",
        backend: { url: `file://${penv.backendDir}` },
      },
      secretsProvider: "passphrase",
    },
  );
  return {
    stack,
    workDir,
    backendDir: penv.backendDir,
    async dispose() {
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
