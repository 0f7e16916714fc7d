// The real Pulumi CLI when things go wrong outside the provider: the `pulumi up` process killed in the middle of
// an apply, and a cluster that cannot be reached. Asserts what a user's next run finds in EC2 and in state.
// Not proven here: a kill between EC2 accepting an Authorize and answering it (the proxy cannot hold a response
// back), which real AWS could produce; the rules would still carry our tag, so the next run adopts them the same way.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { DescribeSecurityGroupRulesCommand, EC2Client } from "@aws-sdk/client-ec2";
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules } from "pulumi-lbc-backend-sg";
import { type Ec2Proxy, startEc2Proxy } from "../sandbox/ec2-proxy";
import { freePort } from "../sandbox/process";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type SeededCluster, seedScenario, smallDemoScenario } from "../sandbox/seed";
import { inlineStack, type TestStack } from "./automation";

const CLUSTER = "killed";
const OWNER = "lbc-sg-killed/dev/backend-sg";
let sandbox: Sandbox;
let seeded: SeededCluster;
let proxy: Ec2Proxy;
let ec2: EC2Client;
const stacks: TestStack[] = [];

function program(): () => Promise<Record<string, unknown>> {
  return async () => {
    const config = new pulumi.Config();
    const res = new BackendSecurityGroupRules("backend-sg", {
      manageBackendSecurityGroupRules: true,
      cluster: { name: CLUSTER, kubeconfig: config.requireSecret("kubeconfig") },
    });
    return { counts: res.counts };
  };
}

async function stackFor(projectName: string, kubeconfig: string): Promise<TestStack> {
  const t = await inlineStack(projectName, program(), {
    AWS_ENDPOINT_URL_EC2: proxy.url,
    AWS_REGION: sandbox.info.region,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  });
  stacks.push(t);
  await t.stack.setConfig("kubeconfig", { value: kubeconfig, secret: true });
  return t;
}

/** Every inbound rule carrying our owner tag, as `sg|proto|from-to|source`, with duplicates kept. */
async function ownedInEc2(): Promise<string[]> {
  const res = await ec2.send(
    new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: "tag:lbc-backend-sg/owner", Values: [OWNER] }],
    }),
  );
  return (res.SecurityGroupRules ?? [])
    .filter((r) => !r.IsEgress)
    .map((r) => `${r.GroupId}|${r.IpProtocol}|${r.FromPort}-${r.ToPort}|${r.ReferencedGroupInfo?.GroupId}`)
    .sort();
}

/** The `pulumi` CLI processes working in a folder (the Automation API does not expose their pids). */
function cliPids(projectDir: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (!path.basename(cmd[0] ?? "").startsWith("pulumi") || cmd[1] !== "up") continue;
      if (fs.realpathSync(`/proc/${entry}/cwd`) === fs.realpathSync(projectDir)) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** A process and all its descendants (the CLI's language and provider plugins), from /proc. */
function withDescendants(pids: number[]): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out = new Set(pids);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parentOf)
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
  }
  return [...out];
}

before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  seeded = await seedScenario(sandbox, sandbox.info.motoUrl, smallDemoScenario(CLUSTER));
  proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl });
  ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});

after(async () => {
  ec2?.destroy();
  for (const t of stacks) await t.dispose();
  await proxy?.close();
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  await sandbox.stop();
});

test("pulumi up killed mid-apply: after clearing the pending create, the next up converges without duplicates", async () => {
  const kubeconfig = fs.readFileSync(sandbox.info.kube.kubeconfigPath, "utf8");
  const t = await stackFor("lbc-sg-killed", kubeconfig);
  // One Authorize token, refilled every 20 s: the first security group's batch goes through, the second waits.
  proxy.configure({ throttling: { "mutating-sg": { capacity: 1, refillPerSecond: 0.05 } } });
  proxy.resetCounts();
  let failure = "";
  const running = t.stack.up().then(
    () => "finished",
    (e: unknown) => {
      failure = e instanceof Error ? e.message : String(e);
      return "failed";
    },
  );
  const deadline = Date.now() + 120_000;
  while ((proxy.forwarded().AuthorizeSecurityGroupIngress ?? 0) < 1 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(proxy.forwarded().AuthorizeSecurityGroupIngress, 1, `up ended early: ${failure.slice(-2000)}`);
  const pids = cliPids(path.join(t.workDir, "project"));
  assert.ok(pids.length >= 1, "the pulumi up process was found");
  // As a CI runner cancelling the job does: the CLI and its plugins (the dynamic provider) die together. (Killing
  // the CLI alone leaves the provider process running; it then finishes its apply, and the next up finds every
  // rule already ours: seen while writing this test, and also convergent.)
  for (const pid of withDescendants(pids)) process.kill(pid, "SIGKILL");
  assert.equal(await running, "failed");
  const halfDone = await ownedInEc2();
  assert.ok(halfDone.length > 0, "the killed run had authorized one security group's rules");

  // What a user does next: the lock and the pending create are left behind by the killed CLI.
  proxy.configure({ throttling: false });
  await t.stack.cancel().catch(() => undefined);
  const lockDir = path.join(t.backendDir, ".pulumi", "locks");
  fs.rmSync(lockDir, { recursive: true, force: true });
  await t.stack.refresh({ clearPendingCreates: true });

  proxy.resetCounts();
  const up = await t.stack.up();
  assert.deepEqual(up.summary.resourceChanges, { create: 1, same: 1 });
  const rules = (await t.stack.outputs()).counts?.value as { owned: number; rules: number };
  const now = await ownedInEc2();
  // exactly one rule per desired identity: the killed run's rules were recognised as ours, not duplicated
  assert.equal(new Set(now).size, now.length);
  assert.equal(now.length, rules.owned);
  for (const k of halfDone) assert.ok(now.includes(k));
  // only the missing security group's rules were authorized
  assert.equal(proxy.forwarded().AuthorizeSecurityGroupIngress, 1);
  const again = await t.stack.preview({ expectNoChanges: true });
  assert.deepEqual(again.changeSummary, { same: 2 });
  await t.stack.destroy();
  assert.deepEqual(await ownedInEc2(), []);
  assert.ok(seeded.backendSecurityGroupId.startsWith("sg-"));
});

test("an unreachable cluster fails the preview naming the server, and the CLI never prints the token", async () => {
  const port = await freePort();
  const token = "unreachable-e2e-secret-token-0123456789";
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: gone\n  cluster:\n    server: https://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
    `users:\n- name: u\n  user:\n    token: ${token}`,
    "contexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u",
    "current-context: gone",
    "",
  ].join("\n");
  const t = await stackFor("lbc-sg-unreachable", kubeconfig);
  proxy.resetCounts();
  const err = await t.stack.preview({ diff: true }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error);
  const text = `${err.message}\n${JSON.stringify(err)}`;
  assert.match(text, new RegExp(`cannot reach the API server https://127\\.0\\.0\\.1:${port}`));
  assert.ok(!text.includes(token));
  // the state (file backend) and the stack's config file; the project's node_modules link is not ours to scan
  const files = [
    ...fs.readdirSync(t.backendDir, { recursive: true, withFileTypes: true }),
    ...fs.readdirSync(path.join(t.workDir, "project"), { withFileTypes: true }),
  ].filter((f) => f.isFile());
  assert.ok(files.length > 0);
  for (const f of files) {
    const file = path.join(f.parentPath, f.name);
    assert.ok(!fs.readFileSync(file, "utf8").includes(token), file);
  }
  // nothing was written to EC2
  const counts = proxy.forwarded();
  for (const action of ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags"])
    assert.equal(counts[action] ?? 0, 0);
});
