// Shared by the fault tests: drives the provider's methods as the Pulumi engine does (check -> diff -> create or
// update with the checked inputs; read; delete), with EC2 behind the fault-injecting proxy and a Kubernetes proxy
// that can answer what a real apiserver will not on demand (410 Gone on a continue, 500 on a page).
// The invariants are asserted on EC2 itself (moto, read directly, never through the proxy).
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import type {
  BackendSecurityGroupRulesInputs as Inputs,
  BackendSecurityGroupRulesOutputs as Outputs,
} from "../../provider/inputs";
import { provider } from "../../provider/provider";
import { kubeconfigYaml } from "../k8s/kubeconfig";
import { type Ec2Proxy, startEc2Proxy } from "../sandbox/ec2-proxy";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type Scenario, type SeededCluster, seedScenario } from "../sandbox/seed";

export const OWNER_TAG = "lbc-backend-sg/owner";
export const LBC_MARKER = "elbv2.k8s.aws/targetGroupBinding";
export const MUTATING = ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags"];

/** Points the provider (this process) at EC2 through a fresh proxy; dummy credentials. */
export async function startProxy(sandbox: Sandbox): Promise<Ec2Proxy> {
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl, seed: 7 });
  process.env.AWS_ENDPOINT_URL_EC2 = proxy.url;
  process.env.AWS_REGION = sandbox.info.region;
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  return proxy;
}

export function directEc2(sandbox: Sandbox): EC2Client {
  return new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

export function kubeconfigOf(sandbox: Sandbox, server = sandbox.info.kube.server): string {
  return kubeconfigYaml({ server, caPem: sandbox.info.kube.caPem, token: sandbox.info.kube.token });
}

/** A kubeconfig for a plain-HTTP server (client-node allows http:// only with insecure-skip-tls-verify). */
export function httpKubeconfigOf(sandbox: Sandbox, server: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: proxied",
    "  cluster:",
    `    server: ${server}`,
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: proxied-user",
    "  user:",
    `    token: ${sandbox.info.kube.token}`,
    "contexts:",
    "- name: proxied",
    "  context:",
    "    cluster: proxied",
    "    user: proxied-user",
    "current-context: proxied",
    "",
  ].join("\n");
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function mutations(proxy: Ec2Proxy): number {
  const c = proxy.counts();
  return MUTATING.reduce((n, a) => n + (c[a] ?? 0), 0);
}

/** What the engine holds for the resource between operations. */
export interface StackState {
  id: string;
  /** the last checked inputs (with the kubeconfig, as the engine keeps them, secret) */
  inputs: Inputs;
  outputs: Outputs;
}

export interface UpResult {
  state: StackState | undefined;
  /** a check failure's reasons, or the thrown error's message */
  failures?: string[];
  error?: Error;
}

type Checked = Inputs & Record<string, unknown>;

/** check with the previous inputs; the failures' reasons, or the checked inputs. */
export async function check(
  state: StackState | undefined,
  news: Inputs,
): Promise<{ inputs?: Inputs; failures?: string[] }> {
  const res = await provider.check!((state?.inputs ?? {}) as Checked, news as Checked);
  if (res.failures && res.failures.length > 0) return { failures: res.failures.map((f) => f.reason) };
  return { inputs: res.inputs as Inputs };
}

/** One `pulumi up` of the resource: check, then create or (when diff says so) update; errors recorded as the engine does. */
export async function up(state: StackState | undefined, news: Inputs): Promise<UpResult> {
  const checked = await check(state, news);
  if (checked.failures) return { state, failures: checked.failures };
  const inputs = checked.inputs!;
  try {
    if (state === undefined) {
      const res = await provider.create!(inputs);
      return { state: { id: res.id, inputs, outputs: res.outs as Outputs } };
    }
    const d = await provider.diff!(state.id, state.outputs, inputs);
    if (!d.changes) return { state: { ...state, inputs } };
    const res = await provider.update!(state.id, state.outputs, inputs);
    return { state: { id: state.id, inputs, outputs: res.outs as Outputs } };
  } catch (err) {
    const e = err as Error & { id?: string; properties?: Outputs };
    // ErrorResourceInitFailed: the engine records id and properties (and the new inputs) as the resource's state.
    if (e.id && e.properties) return { state: { id: e.id, inputs, outputs: e.properties }, error: e };
    return { state, error: e };
  }
}

export async function refresh(state: StackState): Promise<StackState> {
  const res = await provider.read!(state.id, state.outputs);
  return { ...state, outputs: res.props as Outputs };
}

export async function destroy(state: StackState): Promise<void> {
  await provider.delete!(state.id, state.outputs);
}

export async function ingressRules(ec2: EC2Client): Promise<SecurityGroupRule[]> {
  const out: SecurityGroupRule[] = [];
  let token: string | undefined;
  do {
    const res = await ec2.send(new DescribeSecurityGroupRulesCommand({ NextToken: token, MaxResults: 1000 }));
    out.push(...(res.SecurityGroupRules ?? []).filter((r) => !r.IsEgress));
    token = res.NextToken || undefined;
  } while (token);
  return out;
}

export function keyOf(r: SecurityGroupRule): string {
  return `${r.GroupId}|${r.IpProtocol}|${r.FromPort}-${r.ToPort}|${r.ReferencedGroupInfo?.GroupId ?? r.CidrIpv4}`;
}

export function tagOf(r: SecurityGroupRule, key: string): string | undefined {
  return r.Tags?.find((t) => t.Key === key)?.Value;
}

/** Keys (with repeats) of the rules carrying our owner tag with this owner id. */
export async function ownedKeysInEc2(ec2: EC2Client, ownerId: string): Promise<string[]> {
  return (await ingressRules(ec2))
    .filter((r) => tagOf(r, OWNER_TAG) === ownerId)
    .map(keyOf)
    .sort();
}

/** A rule someone else made, identical in identity to one we need; returns its sgr- id. */
export async function authorizeForeign(
  ec2: EC2Client,
  groupId: string,
  port: number,
  sourceGroupId: string,
  marker?: "lbc",
): Promise<string> {
  const res = await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          UserIdGroupPairs: [
            {
              GroupId: sourceGroupId,
              ...(marker === "lbc" ? { Description: `${LBC_MARKER}=shared` } : { Description: "by hand" }),
            },
          ],
        },
      ],
      ...(marker === "lbc"
        ? {
            TagSpecifications: [
              { ResourceType: "security-group-rule", Tags: [{ Key: LBC_MARKER, Value: "shared" }] },
            ],
          }
        : {}),
    }),
  );
  let id = res.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
  if (!id) {
    const all = await ingressRules(ec2);
    id = all.find((r) => keyOf(r) === `${groupId}|tcp|${port}-${port}|${sourceGroupId}`)?.SecurityGroupRuleId;
  }
  assert.ok(id, "foreign rule id");
  return id;
}

export interface ForeignRule {
  ruleId: string;
  key: string;
  tags: Record<string, string>;
}

export async function snapshotForeign(ec2: EC2Client, ids: string[]): Promise<ForeignRule[]> {
  const all = await ingressRules(ec2);
  return ids.map((id) => {
    const r = all.find((x) => x.SecurityGroupRuleId === id);
    assert.ok(r, `foreign rule ${id} is gone`);
    return {
      ruleId: id,
      key: keyOf(r),
      tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
    };
  });
}

/**
 * The invariants after an operation: EC2 holds exactly the rules the state says we own, each once; every rule
 * the state's desired set needs exists (ours or foreign); the foreign rules are untouched.
 */
export async function assertConverged(
  ec2: EC2Client,
  state: StackState,
  foreign: ForeignRule[],
  label: string,
): Promise<void> {
  const ownerId = state.outputs.ownerId;
  const inEc2 = await ownedKeysInEc2(ec2, ownerId);
  assert.deepEqual(inEc2, [...new Set(inEc2)], `${label}: duplicates of our rules in EC2`);
  const inState = Object.entries(state.outputs.rules)
    .filter(([, r]) => r.owned)
    .map(([k]) => k)
    .sort();
  assert.deepEqual(inEc2, inState, `${label}: EC2 holds exactly the rules state says we own`);
  const all = (await ingressRules(ec2)).map(keyOf);
  const desired = Object.keys(state.inputs.desiredRules ?? {});
  assert.ok(desired.length > 0, `${label}: the plan needs rules`);
  for (const k of desired) assert.ok(all.includes(k), `${label}: needed rule ${k} missing from EC2`);
  assert.deepEqual(
    Object.keys(state.outputs.rules).sort(),
    [...desired].sort(),
    `${label}: state records every needed rule`,
  );
  assert.deepEqual(
    await snapshotForeign(
      ec2,
      foreign.map((f) => f.ruleId),
    ),
    foreign,
    `${label}: foreign rules untouched`,
  );
}

/** Five node groups, each with its own cluster-tagged SG (five destination SGs), two ALB backends and an NLB. */
export function fiveGroupScenario(clusterName: string): Scenario {
  return {
    clusterName,
    namespaces: ["shop"],
    nodeGroups: [1, 2, 3, 4, 5].map((i) => ({
      name: `g${i}`,
      nodes: 1,
      securityGroups: [{ name: `${clusterName}-g${i}`, clusterTag: true }],
    })),
    ingressClasses: [{ name: "alb", controller: "ingress.k8s.aws/alb" }],
    services: [
      {
        namespace: "shop",
        name: "frontend",
        type: "NodePort",
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      },
      {
        namespace: "shop",
        name: "cart",
        type: "NodePort",
        ports: [{ name: "http", port: 80, targetPort: 8081 }],
      },
      {
        namespace: "shop",
        name: "checkout-nlb",
        loadBalancerClass: "service.k8s.aws/nlb",
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance" },
        ports: [{ name: "https", port: 443, targetPort: 8443 }],
      },
    ],
    ingresses: [
      {
        namespace: "shop",
        name: "frontend",
        className: "alb",
        backends: [
          { service: "frontend", port: 80 },
          { service: "cart", port: 80 },
        ],
      },
    ],
  };
}

export interface KubeProxy {
  server: string;
  /** requests seen, as `path?query` */
  requests: string[];
  /** the next request whose query has `continue=` (and path includes `match`) gets this status, once */
  failNextContinue(status: number, match?: string): void;
  /** rewrites the body of successful list answers (e.g. hide objects, or answer an empty cluster) */
  transform: ((path: string, body: { items?: unknown[] }) => { items?: unknown[] }) | undefined;
  close(): Promise<void>;
}

/**
 * A plain-HTTP proxy in front of the sandbox's apiserver (it forwards the bearer token the reader sends). It
 * rewrites `limit` to `pageSize`, so a handful of objects already spans several pages, and can answer one
 * `continue` request with an error: a real apiserver returns 410 only when its etcd compacted the revision.
 */
export async function startKubeProxy(sandbox: Sandbox, pageSize = 2): Promise<KubeProxy> {
  const upstream = new URL(sandbox.info.kube.server);
  const requests: string[] = [];
  let pending: { status: number; match: string } | undefined;
  const agent = new https.Agent({ ca: sandbox.info.kube.caPem, keepAlive: true });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    if (url.searchParams.has("limit")) url.searchParams.set("limit", String(pageSize));
    const pathAndQuery = url.pathname + url.search;
    requests.push(pathAndQuery);
    if (pending && url.searchParams.has("continue") && url.pathname.includes(pending.match)) {
      const { status } = pending;
      pending = undefined;
      const body = JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message:
          status === 410
            ? "The provided continue parameter is too old to display a consistent list result."
            : "injected internal error",
        reason: status === 410 ? "Expired" : "InternalError",
        code: status,
      });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    const upstreamReq = https.request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: pathAndQuery,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (upRes) => {
        const transform = self.transform;
        if (transform === undefined || upRes.statusCode !== 200 || req.method !== "GET") {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on("data", (c: Buffer) => chunks.push(c));
        upRes.on("end", () => {
          const body = JSON.stringify(
            transform(url.pathname, JSON.parse(Buffer.concat(chunks).toString("utf8"))),
          );
          const headers = { ...upRes.headers, "content-length": String(Buffer.byteLength(body)) };
          delete headers["transfer-encoding"];
          res.writeHead(200, headers);
          res.end(body);
        });
      },
    );
    upstreamReq.on("error", () => res.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  const self: KubeProxy = {
    server: `http://127.0.0.1:${port}`,
    transform: undefined,
    requests,
    failNextContinue(status, match = "") {
      pending = { status, match };
    },
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return self;
}

/** What the fault suites share: a seeded five-SG cluster, a proxy, and a hand-made and an LBC-marked rule. */
export interface FaultWorld {
  sandbox: Sandbox;
  seeded: SeededCluster;
  ec2: EC2Client;
  proxy: Ec2Proxy;
  /** the rules nobody but their makers may touch, as they were before the test */
  foreign: ForeignRule[];
}

export async function fiveGroupWorld(clusterName: string): Promise<FaultWorld> {
  const sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  const seeded = await seedScenario(sandbox, sandbox.info.motoUrl, fiveGroupScenario(clusterName));
  const ec2 = directEc2(sandbox);
  const proxy = await startProxy(sandbox);
  const port = seeded.nodePort("shop/frontend", "http");
  const sg = (i: number) => seeded.securityGroupIds[`${clusterName}-g${i}`]!;
  const handMade = await authorizeForeign(ec2, sg(1), port, seeded.backendSecurityGroupId);
  const lbc = await authorizeForeign(ec2, sg(2), port, seeded.backendSecurityGroupId, "lbc");
  const foreign = await snapshotForeign(ec2, [handMade, lbc]);
  return { sandbox, seeded, ec2, proxy, foreign };
}

export async function closeWorld(world: FaultWorld | undefined): Promise<void> {
  if (world === undefined) return;
  await world.proxy.close();
  world.ec2.destroy();
  await clearCluster(world.sandbox);
  await world.sandbox.resetEc2();
  await world.sandbox.stop();
}
