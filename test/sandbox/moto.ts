import * as path from "node:path";
import { freePort, type Service, startService, waitUntil } from "./process";
import { ensureTools } from "./tools";

export interface Moto {
  /** http://127.0.0.1:<port> — the EC2 endpoint */
  url: string;
  service: Service;
  /** forgets every resource (POST /moto-api/reset) */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts moto's server (from the cached venv) on a free loopback port. */
export async function startMoto(opts: { logDir: string; env?: NodeJS.ProcessEnv }): Promise<Moto> {
  const tools = ensureTools(["moto"]);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = startService("moto", tools.MOTO_SERVER!, ["-H", "127.0.0.1", "-p", String(port)], {
    logFile: path.join(opts.logDir, "moto.log"),
    env: { ...process.env, ...opts.env },
  });
  await waitUntil(service, "healthy", async () => (await fetch(`${url}/moto-api/`)).ok, 60_000);
  return {
    url,
    service,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    stop: () => service.stop(),
  };
}
