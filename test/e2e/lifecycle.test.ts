// End to end with the real Pulumi CLI (file backend), the real kube-apiserver and moto: the full lifecycle of one
// BackendSecurityGroupRules resource as a pipeline would run it. Each step asserts what `pulumi preview --diff`
// shows (one +/- line per rule identity) and what EC2 then holds.
// Not proven here: real AWS's eventual consistency and its exact error codes (moto differs; see test/aws).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules, type RuleState } from "pulumi-lbc-backend-sg";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type SeededCluster, seedScenario, smallDemoScenario } from "../sandbox/seed";
import { inlineStack, type TestStack } from "./automation";

const CLUSTER = "e2e";
const OWNER_TAG = "lbc-backend-sg/owner";
let sandbox: Sandbox;
let seeded: SeededCluster;
let ec2: EC2Client;
let t: TestStack;
const transcript: string[] = [];

function ruleLines(output: string): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^\s*([+-])\s+(sg-[0-9a-f]+\|(?:tcp|udp)\|\d+-\d+\|sg-[0-9a-f]+)\s*:/.exec(line);
    if (m?.[1] === "+") added.push(m[2]!);
    if (m?.[1] === "-") removed.push(m[2]!);
  }
  return { added: added.sort(), removed: removed.sort() };
}

async function rulesInEc2(): Promise<SecurityGroupRule[]> {
  const res = await ec2.send(new DescribeSecurityGroupRulesCommand({}));
  return (res.SecurityGroupRules ?? []).filter((r) => !r.IsEgress);
}

function keyOf(r: SecurityGroupRule): string {
  return `${r.GroupId}|${r.IpProtocol}|${r.FromPort}-${r.ToPort}|${r.ReferencedGroupInfo?.GroupId ?? r.CidrIpv4}`;
}

async function ourKeysInEc2(): Promise<string[]> {
  return (await rulesInEc2())
    .filter((r) => r.Tags?.some((tag) => tag.Key === OWNER_TAG))
    .map(keyOf)
    .sort();
}

async function preview(): Promise<{ added: string[]; removed: string[]; summary: Record<string, number> }> {
  const res = await t.stack.preview({ diff: true });
  transcript.push(res.stdout, res.stderr);
  return { ...ruleLines(res.stdout), summary: res.changeSummary as Record<string, number> };
}

async function up(): Promise<Record<string, RuleState>> {
  const res = await t.stack.up();
  transcript.push(res.stdout, res.stderr);
  return (res.outputs.rules?.value ?? {}) as Record<string, RuleState>;
}

async function kube(method: string, apiPath: string, body?: unknown): Promise<void> {
  const res = await sandbox.kubeRequest(method, apiPath, body);
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${apiPath}: HTTP ${res.status}`);
}

before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  seeded = await seedScenario(sandbox, sandbox.info.motoUrl, smallDemoScenario(CLUSTER));
  ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const kubeconfig = fs.readFileSync(sandbox.info.kube.kubeconfigPath, "utf8");
  t = await inlineStack(
    "lbc-sg-e2e",
    async () => {
      const config = new pulumi.Config();
      const res = new BackendSecurityGroupRules("backend-sg", {
        manageBackendSecurityGroupRules: true,
        cluster: { name: CLUSTER, kubeconfig: config.requireSecret("kubeconfig") },
      });
      return { rules: res.rules, counts: res.counts };
    },
    {
      AWS_ENDPOINT_URL_EC2: sandbox.info.motoUrl,
      AWS_REGION: sandbox.info.region,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    },
  );
  await t.stack.setConfig("kubeconfig", { value: kubeconfig, secret: true });
});

after(async () => {
  // For reading what the CLI printed at each step: LBC_SG_E2E_TRANSCRIPT=/tmp/x.txt npm run test:e2e
  if (process.env.LBC_SG_E2E_TRANSCRIPT)
    fs.writeFileSync(process.env.LBC_SG_E2E_TRANSCRIPT, transcript.join("\n"));
  ec2?.destroy();
  await t?.dispose();
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  await sandbox.stop();
});

let initialKeys: string[] = [];

test("preview --diff lists every rule; up creates exactly them; a second preview is empty", async () => {
  const p = await preview();
  assert.deepEqual(p.summary, { create: 2 });
  // on create the CLI prints the map's entries without +; take them from the preview's JSON-free check: up's state
  const rules = await up();
  initialKeys = Object.keys(rules).sort();
  assert.ok(initialKeys.length >= 10, `rules: ${initialKeys.length}`);
  assert.ok(Object.values(rules).every((r) => r.owned && r.ruleId?.startsWith("sgr-")));
  assert.deepEqual(await ourKeysInEc2(), initialKeys);
  // every rule allows the backend SG, never a CIDR
  assert.ok(initialKeys.every((k) => k.endsWith(`|${seeded.backendSecurityGroupId}`)));
  const again = await t.stack.preview({ expectNoChanges: true });
  assert.deepEqual(again.changeSummary, { same: 2 });
});

test("a new NLB Service shows exactly its rules as + lines, and up adds only them", async () => {
  const res = await sandbox.kubeRequest("POST", "/api/v1/namespaces/shop/services", {
    metadata: { name: "queue-nlb" },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "service.k8s.aws/nlb",
      selector: { app: "queue" },
      ports: [{ name: "amqp", port: 5672, targetPort: 5672 }],
    },
  });
  assert.equal(res.status, 201);
  const nodePort = (res.body as { spec: { ports: Array<{ nodePort: number }> } }).spec.ports[0]!.nodePort;
  const nodeSgs = [...new Set(initialKeys.map((k) => k.split("|")[0]!))].sort();
  const expected = nodeSgs.map((sg) => `${sg}|tcp|${nodePort}-${nodePort}|${seeded.backendSecurityGroupId}`);

  const p = await preview();
  assert.deepEqual(p.added, expected);
  assert.deepEqual(p.removed, []);
  assert.deepEqual(p.summary, { same: 1, update: 1 });
  await up();
  assert.deepEqual(await ourKeysInEc2(), [...initialKeys, ...expected].sort());
  initialKeys = [...initialKeys, ...expected].sort();
});

test("removing an Ingress and its Service shows - lines for rules only they needed, and up revokes them", async () => {
  const adminPort = seeded.nodePort("platform/admin", "http");
  const gone = initialKeys.filter((k) => k.includes(`|tcp|${adminPort}-${adminPort}|`));
  assert.ok(gone.length > 0);
  await kube("DELETE", "/apis/networking.k8s.io/v1/namespaces/platform/ingresses/admin");
  await kube("DELETE", "/api/v1/namespaces/platform/services/admin");
  const p = await preview();
  assert.deepEqual(p.removed, gone);
  assert.deepEqual(p.added, []);
  await up();
  initialKeys = initialKeys.filter((k) => !gone.includes(k));
  assert.deepEqual(await ourKeysInEc2(), initialKeys);
});

test("flipping an opt-out annotation to true shows its rules as + lines", async () => {
  const port = seeded.nodePort("payments/webhook", 8080);
  await kube("PATCH", "/apis/networking.k8s.io/v1/namespaces/payments/ingresses/webhook", {
    metadata: { annotations: { "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "true" } },
  });
  const p = await preview();
  assert.ok(p.added.length > 0);
  assert.ok(
    p.added.every((k) => k.includes(`|tcp|${port}-${port}|`)),
    p.added.join(" "),
  );
  assert.deepEqual(p.removed, []);
  await up();
  initialKeys = [...initialKeys, ...p.added].sort();
  assert.deepEqual(await ourKeysInEc2(), initialKeys);
});

test("a rule revoked by hand: refresh notices, preview shows the change, up restores it", async () => {
  const ours = (await rulesInEc2()).filter((r) => r.Tags?.some((tag) => tag.Key === OWNER_TAG));
  const victim = ours[0]!;
  await ec2.send(
    new RevokeSecurityGroupIngressCommand({
      GroupId: victim.GroupId,
      SecurityGroupRuleIds: [victim.SecurityGroupRuleId!],
    }),
  );
  const refresh = await t.stack.refresh();
  transcript.push(refresh.stdout);
  const p = await preview();
  assert.deepEqual(p.summary, { same: 1, update: 1 });
  // refresh dropped the rule from the recorded rules, so the preview shows it coming back
  assert.deepEqual(p.added, [keyOf(victim)]);
  assert.deepEqual(p.removed, []);
  await up();
  assert.deepEqual(await ourKeysInEc2(), initialKeys);
  const again = await t.stack.preview({ expectNoChanges: true });
  assert.deepEqual(again.changeSummary, { same: 2 });
});

test("destroy removes only our rules; a hand-made rule stays", async () => {
  const sg = initialKeys[0]!.split("|")[0]!;
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: sg,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          UserIdGroupPairs: [{ GroupId: seeded.backendSecurityGroupId }],
        },
      ],
    }),
  );
  const res = await t.stack.destroy();
  transcript.push(res.stdout);
  assert.deepEqual(await ourKeysInEc2(), []);
  const left = (await rulesInEc2()).filter(
    (r) => r.ReferencedGroupInfo?.GroupId === seeded.backendSecurityGroupId,
  );
  assert.deepEqual(left.map(keyOf), [`${sg}|tcp|22-22|${seeded.backendSecurityGroupId}`]);
});

test("the kubeconfig's token never appears in plain text in state files or CLI output", async () => {
  const token = sandbox.info.kube.token;
  assert.ok(token.length >= 32);
  const files = fs.readdirSync(t.backendDir, { recursive: true, withFileTypes: true });
  let checked = 0;
  for (const f of files) {
    if (!f.isFile()) continue;
    const text = fs.readFileSync(path.join(f.parentPath, f.name), "utf8");
    assert.ok(!text.includes(token), `token found in ${f.name}`);
    checked++;
  }
  assert.ok(checked > 0);
  assert.ok(transcript.length >= 10);
  for (const out of transcript) assert.ok(!out.includes(token));
});
