// Drives the provider object the way the Pulumi engine does (check -> diff -> create/update, read, delete) against
// the sandbox: EC2 is moto behind the counting proxy, Kubernetes is the real kube-apiserver. Every value the
// provider hands back (checked inputs, failures, outputs, errors) is checked for the kubeconfig's token.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  type Tag,
} from "@aws-sdk/client-ec2";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { toExistingRule } from "../../provider/aws/rules";
import { OWNER_TAG_KEY } from "../../provider/domain/model";
import { existingRuleKey } from "../../provider/domain/rules";
import type {
  BackendSecurityGroupRulesInputs as Inputs,
  BackendSecurityGroupRulesOutputs as Outputs,
} from "../../provider/inputs";
import { provider } from "../../provider/provider";
import { type Ec2Proxy, startEc2Proxy } from "../sandbox/ec2-proxy";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type Scenario, type SeededCluster, seedScenario } from "../sandbox/seed";

export const MUTATING = [
  "AuthorizeSecurityGroupIngress",
  "RevokeSecurityGroupIngress",
  "CreateTags",
] as const;

export interface Harness {
  sandbox: Sandbox;
  proxy: Ec2Proxy;
  /** straight to moto: the test's own reads and out-of-band changes are not counted */
  ec2: EC2Client;
  kubeconfig: string;
  token: string;
}

const savedEnv: Record<string, string | undefined> = {};
function setEnv(name: string, value: string): void {
  if (!(name in savedEnv)) savedEnv[name] = process.env[name];
  process.env[name] = value;
}

export async function startHarness(): Promise<Harness> {
  const sandbox = await getSandbox();
  const proxy = await startEc2Proxy({ upstream: sandbox.info.motoUrl });
  setEnv("AWS_ENDPOINT_URL_EC2", proxy.url);
  setEnv("AWS_REGION", sandbox.info.region);
  setEnv("AWS_ACCESS_KEY_ID", "test");
  setEnv("AWS_SECRET_ACCESS_KEY", "test");
  const ec2 = new EC2Client({
    endpoint: sandbox.info.motoUrl,
    region: sandbox.info.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    sandbox,
    proxy,
    ec2,
    kubeconfig: fs.readFileSync(sandbox.info.kube.kubeconfigPath, "utf8"),
    token: sandbox.info.kube.token,
  };
}

export async function stopHarness(h: Harness | undefined): Promise<void> {
  if (h === undefined) return;
  await clearCluster(h.sandbox);
  await h.sandbox.resetEc2();
  h.ec2.destroy();
  await h.proxy.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await h.sandbox.stop();
}

/** An empty cluster and an empty EC2, then the scenario; the proxy's counters start at zero. */
export async function freshCluster(h: Harness, scenario: Scenario): Promise<SeededCluster> {
  await clearCluster(h.sandbox);
  await h.sandbox.resetEc2();
  h.proxy.configure({ faults: [] });
  const seeded = await seedScenario(h.sandbox, h.sandbox.info.motoUrl, scenario);
  h.proxy.resetCounts();
  return seeded;
}

export function inputsFor(
  h: Harness,
  clusterName: string,
  ownerId: string,
  extra: Partial<Inputs> = {},
): Inputs {
  return { cluster: { name: clusterName, kubeconfig: h.kubeconfig }, ownerId, ...extra };
}

/** Mutating EC2 calls that reached the proxy since the last reset, zeros left out. */
export function mutatingCalls(h: Harness): Record<string, number> {
  const counts = h.proxy.counts();
  const out: Record<string, number> = {};
  for (const a of MUTATING) if (counts[a]) out[a] = counts[a];
  return out;
}

export function assertNoSecret(h: Harness, value: unknown, what: string): void {
  const text =
    value instanceof Error
      ? `${value.message}\n${value.stack}\n${JSON.stringify(value)}`
      : JSON.stringify(value);
  assert.ok(!(text ?? "").includes(h.token), `${what} contains the kubeconfig's token`);
  assert.ok(!(text ?? "").includes(h.kubeconfig), `${what} contains the kubeconfig`);
}

const p = provider as Required<dynamic.ResourceProvider<Inputs, Outputs>>;

export async function check(
  h: Harness,
  olds: Inputs | undefined,
  news: Inputs,
): Promise<dynamic.CheckResult<Inputs>> {
  const res = await p.check(olds ?? ({} as Inputs), news);
  assertNoSecret(h, res.failures ?? [], "check failures");
  return res;
}

/** check that must succeed: the checked inputs. */
export async function checked(h: Harness, olds: Inputs | undefined, news: Inputs): Promise<Inputs> {
  const res = await check(h, olds, news);
  assert.deepEqual(res.failures ?? [], [], "check failures");
  assert.ok(res.inputs, "check returned no inputs");
  return res.inputs;
}

/** The resource as the engine tracks it: its id, its checked inputs and its outputs (state). */
export interface Deployed {
  id: string;
  inputs: Inputs;
  outs: Outputs;
}

/** One `pulumi up` of the resource: check, diff, then create or update. `changes` is what diff said. */
export async function up(
  h: Harness,
  news: Inputs,
  prev?: Deployed,
): Promise<Deployed & { changes: boolean }> {
  const inputs = await checked(h, prev?.inputs, news);
  if (prev === undefined) {
    const res = await p.create(inputs);
    assertNoSecret(h, res, "create outputs");
    return { id: res.id, inputs, outs: res.outs as Outputs, changes: true };
  }
  const diffResult = await p.diff(prev.id, prev.outs, inputs);
  if (!diffResult.changes) return { ...prev, inputs, changes: false };
  const res = await p.update(prev.id, prev.outs, inputs);
  assertNoSecret(h, res, "update outputs");
  return { id: prev.id, inputs, outs: res.outs as Outputs, changes: true };
}

/** A bare create (for failures: the error is the result). */
export async function create(h: Harness, inputs: Inputs): Promise<Deployed> {
  const res = await p.create(inputs);
  assertNoSecret(h, res, "create outputs");
  return { id: res.id, inputs, outs: res.outs as Outputs };
}

export async function diff(prev: Deployed, inputs: Inputs): Promise<boolean> {
  return (await p.diff(prev.id, prev.outs, inputs)).changes === true;
}

export async function update(h: Harness, prev: Deployed, inputs: Inputs): Promise<Deployed> {
  const res = await p.update(prev.id, prev.outs, inputs);
  assertNoSecret(h, res, "update outputs");
  return { id: prev.id, inputs, outs: res.outs as Outputs };
}

export async function read(h: Harness, prev: Deployed): Promise<Outputs> {
  const res = await p.read(prev.id, prev.outs);
  assertNoSecret(h, res, "read result");
  assert.ok(res.props, "read returned no props");
  return res.props as Outputs;
}

export async function destroy(h: Harness, id: string, outs: Outputs): Promise<void> {
  try {
    await p.delete(id, outs);
  } catch (err) {
    assertNoSecret(h, err, "delete error");
    throw err;
  }
}

/** The error a provider call threw (and that it carries no secret). */
export async function rejection(h: Harness, run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    assertNoSecret(h, err, "error");
    return err;
  }
  assert.fail("expected the call to fail");
}

export interface LiveRule {
  key: string;
  ruleId: string;
  ownerTag: string | undefined;
  description: string | undefined;
  tags: Record<string, string>;
}

/** Every ingress rule with a security-group source on these SGs, sorted by identity then id. */
export async function liveRules(h: Harness, groupIds: string[]): Promise<LiveRule[]> {
  const res = await h.ec2.send(
    new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: "group-id", Values: groupIds }],
      MaxResults: 1000,
    }),
  );
  // moto leaves Description out of DescribeSecurityGroupRules for security-group sources; the group's
  // IpPermissions carry it (real EC2 reports it in both).
  const groups = await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }));
  const descriptions = new Map<string, string>();
  for (const g of groups.SecurityGroups ?? [])
    for (const perm of g.IpPermissions ?? [])
      for (const pair of perm.UserIdGroupPairs ?? [])
        if (pair.Description !== undefined && pair.GroupId !== undefined)
          descriptions.set(
            `${g.GroupId}|${perm.IpProtocol}|${perm.FromPort}-${perm.ToPort}|${pair.GroupId}`,
            pair.Description,
          );
  const out: LiveRule[] = [];
  for (const raw of res.SecurityGroupRules ?? []) {
    const r = toExistingRule(raw);
    if (r === undefined) continue;
    const key = existingRuleKey(r);
    if (key === undefined) continue;
    out.push({
      key,
      ruleId: r.ruleId,
      ownerTag: r.tags[OWNER_TAG_KEY],
      description: r.description ?? descriptions.get(key),
      tags: r.tags,
    });
  }
  return out.sort((a, b) => (a.key === b.key ? (a.ruleId < b.ruleId ? -1 : 1) : a.key < b.key ? -1 : 1));
}

/** A rule made outside the provider (a person, the LBC): one TCP port from the backend SG. */
export async function authorizeOutOfBand(
  h: Harness,
  groupId: string,
  port: number,
  sourceGroupId: string,
  description: string,
  tags: Tag[] = [],
): Promise<void> {
  await h.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          UserIdGroupPairs: [{ GroupId: sourceGroupId, Description: description }],
        },
      ],
      ...(tags.length > 0
        ? { TagSpecifications: [{ ResourceType: "security-group-rule", Tags: tags }] }
        : {}),
    }),
  );
}

export async function revokeOutOfBand(h: Harness, groupId: string, ruleId: string): Promise<void> {
  await h.ec2.send(
    new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [ruleId] }),
  );
}

/** `${sg}|tcp|${port}-${port}|${source}` */
export function tcpKey(sg: string, port: number, source: string): string {
  return `${sg}|tcp|${port}-${port}|${source}`;
}
