import { execFileSync } from "node:child_process";
import * as path from "node:path";

export interface ToolPaths {
  MOTO_SERVER: string;
  ETCD: string;
  KUBE_APISERVER: string;
  PULUMI_BIN_DIR: string;
}

const repoRoot = path.resolve(__dirname, "..", "..");

/**
 * Builds or finds the sandbox's tools (cached outside the repo by scripts/sandbox/tools.sh) and returns their paths.
 * The script's progress goes to our stderr; a warm cache answers in well under a second.
 */
export function ensureTools(which: Array<"moto" | "etcd" | "kube-apiserver" | "pulumi">): Partial<ToolPaths> {
  const out: Partial<ToolPaths> = {};
  for (const tool of which) {
    const stdout = execFileSync("bash", [path.join(repoRoot, "scripts", "sandbox", "tools.sh"), tool], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    for (const line of stdout.split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) (out as Record<string, string>)[m[1]] = m[2];
    }
  }
  return out;
}
