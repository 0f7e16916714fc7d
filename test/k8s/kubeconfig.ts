// Builds kubeconfig YAML for reader tests: one cluster and user per context, a bearer token or a client cert.

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  token?: string;
  cert?: { certPem: string; keyPem: string };
  /** context names (default ["sandbox"]); the first is current-context */
  contexts?: string[];
  /** the server of the context named "broken" (to prove the chosen context is the one used) */
  brokenServer?: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const contexts = spec.contexts ?? ["sandbox"];
  const lines = ["apiVersion: v1", "kind: Config", "clusters:"];
  for (const c of contexts) {
    const server = c === "broken" && spec.brokenServer ? spec.brokenServer : spec.server;
    lines.push(
      `- name: ${c}`,
      "  cluster:",
      `    server: ${server}`,
      `    certificate-authority-data: ${b64(spec.caPem)}`,
    );
  }
  lines.push("users:");
  for (const c of contexts) {
    lines.push(`- name: ${c}-user`, "  user:");
    if (spec.token !== undefined) lines.push(`    token: ${spec.token}`);
    if (spec.cert) {
      lines.push(
        `    client-certificate-data: ${b64(spec.cert.certPem)}`,
        `    client-key-data: ${b64(spec.cert.keyPem)}`,
      );
    }
  }
  lines.push("contexts:");
  for (const c of contexts)
    lines.push(`- name: ${c}`, "  context:", `    cluster: ${c}`, `    user: ${c}-user`);
  lines.push(`current-context: ${contexts[0]}`, "");
  return lines.join("\n");
}
