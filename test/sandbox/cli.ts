// `node --import tsx test/sandbox/cli.ts up <info.json>`: starts the sandbox, writes its connection info to
// <info.json>, prints "ready", and keeps it running until SIGTERM/SIGINT (then stops every service).
import * as fs from "node:fs";
import { startSandbox } from "./sandbox";
import { ensureTools } from "./tools";

async function main(): Promise<void> {
  const [cmd, infoFile] = process.argv.slice(2);
  if (cmd === "tools") {
    const t0 = Date.now();
    ensureTools(["moto", "etcd", "kube-apiserver", "pulumi"]);
    process.stderr.write(`[sandbox] tools ready in ${Date.now() - t0} ms\n`);
    return;
  }
  if (cmd !== "up" || !infoFile) {
    process.stderr.write("usage: cli.ts up <info.json> | cli.ts tools\n");
    process.exit(2);
  }
  const sandbox = await startSandbox();
  fs.writeFileSync(infoFile, JSON.stringify(sandbox.info, null, 2));
  process.stdout.write("ready\n");
  const stop = async () => {
    await sandbox.stop();
    fs.rmSync(sandbox.info.workDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.removeAllListeners("SIGTERM");
  process.removeAllListeners("SIGINT");
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  // Also stop when the parent goes away (its pipe to us closes).
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`[sandbox] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
