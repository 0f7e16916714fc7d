import * as fs from "node:fs";
import * as path from "node:path";
import { ensureTools } from "./tools";

const repoRoot = path.resolve(__dirname, "..", "..");

export interface PulumiEnv {
  env: NodeJS.ProcessEnv;
  /** the file backend's directory */
  backendDir: string;
  binDir: string;
}

/**
 * Environment for the real Pulumi CLI on a file backend in `workDir`: our built CLI and language host first on
 * PATH, then the dynamic-provider plugin shipped inside @pulumi/pulumi, then Node 24 from node_modules/.bin.
 */
export function pulumiEnv(workDir: string, extra: NodeJS.ProcessEnv = {}): PulumiEnv {
  const tools = ensureTools(["pulumi"]);
  const binDir = tools.PULUMI_BIN_DIR!;
  const backendDir = path.join(workDir, "backend");
  const home = path.join(workDir, "pulumi-home");
  fs.mkdirSync(backendDir, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const pathParts = [
    binDir,
    path.join(repoRoot, "node_modules", "@pulumi", "pulumi"),
    path.join(repoRoot, "node_modules", ".bin"),
    process.env.PATH ?? "",
  ];
  return {
    binDir,
    backendDir,
    env: {
      ...process.env,
      PATH: pathParts.join(path.delimiter),
      PULUMI_BACKEND_URL: `file://${backendDir}`,
      PULUMI_HOME: home,
      PULUMI_CONFIG_PASSPHRASE: "sandbox-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      ...extra,
    },
  };
}
