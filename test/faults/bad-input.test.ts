// The bad-input corpus: each case goes through provider.check against the sandbox (real apiserver, moto behind
// the counting proxy), so the message asserted is the one `pulumi preview` shows. Every case asserts the exact
// failures (property: reason) and zero EC2 mutating calls. Objects a case needs are created in namespace "bad"
// before its check and deleted after.
// Not proven here: real AWS's answers for a wrong region or missing credentials (moto serves any region; the SDK's
// credential chain is cut off by environment variables, not by a real machine without a role).
import * as assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CreateSecurityGroupCommand, DeleteSecurityGroupCommand, type EC2Client } from "@aws-sdk/client-ec2";
import type { BackendSecurityGroupRulesInputs as Inputs } from "../../provider/inputs";
import { provider } from "../../provider/provider";
import { ingress as ingressObject } from "../domain/builders";
import type { Ec2Proxy } from "../sandbox/ec2-proxy";
import { getSandbox, type Sandbox } from "../sandbox/sandbox";
import { clearCluster, type Scenario, type SeededCluster, seedScenario } from "../sandbox/seed";
import { closedPort, directEc2, kubeconfigOf, mutations, startProxy } from "./harness";

const CLUSTER = "bad";
const OWNER = "faults/bad-input";
let sandbox: Sandbox;
let seeded: SeededCluster;
let proxy: Ec2Proxy;
let ec2: EC2Client;
let dualNode: Record<string, unknown>;
let dualStatus: unknown;
let unreachable: string;

const A = "alb.ingress.kubernetes.io/";
const S = "service.beta.kubernetes.io/";
const ING = "/apis/networking.k8s.io/v1/namespaces/bad/ingresses";
const SVC = "/api/v1/namespaces/bad/services";

function scenario(): Scenario {
  return {
    clusterName: CLUSTER,
    namespaces: ["bad"],
    nodeGroups: [
      { name: "g1", nodes: 1, securityGroups: [{ name: "bad-g1", clusterTag: true }] },
      {
        name: "dual",
        nodes: 1,
        securityGroups: [
          { name: "bad-dual-a", clusterTag: true },
          { name: "bad-dual-b", clusterTag: true },
        ],
      },
    ],
    ingressClasses: [{ name: "alb", controller: "ingress.k8s.aws/alb" }],
    services: [
      {
        namespace: "bad",
        name: "web",
        type: "NodePort",
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      },
      // one case renames its targetPort to one its pods do not have
      {
        namespace: "bad",
        name: "named",
        type: "ClusterIP",
        ports: [{ name: "http", port: 80, targetPort: "web" }],
        pods: { count: 1, containerPorts: [{ name: "web", containerPort: 8080 }] },
      },
    ],
    ingresses: [],
  };
}

interface KubeObject {
  path: string;
  body: { metadata: { name: string; annotations?: Record<string, string> } } & Record<string, unknown>;
}

function ingress(
  name: string,
  annotations: Record<string, string>,
  backends: Array<{ service: string; port: number | string }> = [{ service: "web", port: 80 }],
): KubeObject {
  // the same shape the planner's tests use, sent to the apiserver (which fills in the namespace)
  const {
    kind: _kind,
    metadata,
    spec,
  } = ingressObject("bad", name, { annotations, backends, className: "alb" });
  return { path: ING, body: { metadata: { name: metadata.name, annotations }, spec } };
}

function nlb(
  name: string,
  annotations: Record<string, string>,
  spec: Record<string, unknown> = {},
): KubeObject {
  return {
    path: SVC,
    body: {
      metadata: { name, annotations },
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: "service.k8s.aws/nlb",
        selector: { app: name },
        ports: [{ name: "tcp", port: 443, targetPort: 8443, protocol: "TCP" }],
        ...spec,
      },
    },
  };
}

interface BadCase {
  name: string;
  inputs?: Record<string, unknown>;
  /** replaces the cluster input */
  cluster?: () => Record<string, unknown>;
  objects?: () => KubeObject[];
  /** extra setup (EC2, patches); returns its cleanup */
  setup?: () => Promise<() => Promise<void>>;
  env?: Record<string, string | undefined>;
  /** exact `property: reason` lines; a function for values known only at run time */
  expected: string[] | (() => string[]);
  todo?: string;
}

const SG_EXPECTED = "a security group id such as sg-0123456789abcdef0";
const NS_EXPECTED = "a namespace name (lower-case DNS label)";
const GO_BOOL = "true or false (Go ParseBool: 1 t T TRUE true True 0 f F FALSE false False)";

const cases: BadCase[] = [
  // ---- inputs ----
  {
    name: "manageBackendSecurityGroupRules not a boolean",
    inputs: { manageBackendSecurityGroupRules: "yes" },
    expected: [
      `manageBackendSecurityGroupRules: manageBackendSecurityGroupRules is "yes"; expected true or false`,
    ],
  },
  {
    name: "adoptExistingRules a string",
    inputs: { adoptExistingRules: "true" },
    expected: [`adoptExistingRules: adoptExistingRules is "true"; expected true or false`],
  },
  {
    name: "confirmMassRevoke a number",
    inputs: { confirmMassRevoke: 1 },
    expected: ["confirmMassRevoke: confirmMassRevoke is 1; expected true or false"],
  },
  {
    name: "cluster missing",
    cluster: () => ({ __missing: true }),
    expected: ["cluster: cluster is missing; expected { name, kubeconfig?, context? }"],
  },
  {
    name: "cluster.name missing",
    cluster: () => ({ kubeconfig: kubeconfigOf(sandbox) }),
    expected: ["cluster.name: cluster.name is missing; expected the EKS cluster name"],
  },
  {
    name: "cluster.name with a space",
    cluster: () => ({ name: "my cluster", kubeconfig: kubeconfigOf(sandbox) }),
    expected: [
      `cluster.name: cluster.name is "my cluster"; expected an EKS cluster name (letters, digits, - and _, at most 100)`,
    ],
  },
  {
    name: "cluster.kubeconfig not a string",
    cluster: () => ({ name: CLUSTER, kubeconfig: 42 }),
    expected: ["cluster.kubeconfig: cluster.kubeconfig is not a string; expected kubeconfig YAML"],
  },
  {
    name: "cluster.context empty",
    cluster: () => ({ name: CLUSTER, kubeconfig: kubeconfigOf(sandbox), context: "" }),
    expected: [`cluster.context: cluster.context is ""; expected a non-empty string`],
  },
  {
    name: "region malformed",
    inputs: { region: "us-east" },
    expected: [`region: region is "us-east"; expected an AWS region such as us-east-1`],
  },
  {
    name: "region in capitals",
    inputs: { region: "US-EAST-1" },
    expected: [`region: region is "US-EAST-1"; expected an AWS region such as us-east-1`],
  },
  {
    name: "backendSecurityGroupId malformed",
    inputs: { backendSecurityGroupId: "sg-123" },
    expected: [`backendSecurityGroupId: backendSecurityGroupId is "sg-123"; expected ${SG_EXPECTED}`],
  },
  {
    name: "vpcId malformed",
    inputs: { vpcId: "vpc-xyz" },
    expected: [`vpcId: vpcId is "vpc-xyz"; expected a VPC id such as vpc-0123456789abcdef0`],
  },
  {
    name: "ownerId empty",
    inputs: { ownerId: "" },
    expected: [`ownerId: ownerId is ""; expected 1 to 200 characters allowed in EC2 tags and descriptions`],
  },
  {
    name: "ownerId with a character EC2 descriptions reject",
    inputs: { ownerId: "team<a>" },
    expected: [
      `ownerId: ownerId is "team<a>"; expected 1 to 200 characters allowed in EC2 tags and descriptions`,
    ],
  },
  {
    name: "unknown port mode",
    inputs: { portMode: "narrow" },
    expected: [`portMode: portMode is "narrow"; expected one of minimal, range, all`],
  },
  {
    name: "unknown default target type",
    inputs: { defaultTargetType: "pod" },
    expected: [`defaultTargetType: defaultTargetType is "pod"; expected instance or ip`],
  },
  {
    name: "ruleQuota 0",
    inputs: { ruleQuota: 0 },
    expected: [
      "ruleQuota: ruleQuota is 0; expected a whole number from 1 to 1000 (EC2's rules-per-security-group quota, default 60)",
    ],
  },
  {
    name: "ruleQuota not whole",
    inputs: { ruleQuota: 1.5 },
    expected: [
      "ruleQuota: ruleQuota is 1.5; expected a whole number from 1 to 1000 (EC2's rules-per-security-group quota, default 60)",
    ],
  },
  {
    name: "maxRevokeFraction above 1",
    inputs: { maxRevokeFraction: 2 },
    expected: ["maxRevokeFraction: maxRevokeFraction is 2; expected a number from 0 to 1"],
  },
  {
    name: "targetSecurityGroupIds with a malformed id",
    inputs: { targetSecurityGroupIds: ["sg-1"] },
    expected: [`targetSecurityGroupIds[0]: targetSecurityGroupIds[0] is "sg-1"; expected ${SG_EXPECTED}`],
  },
  {
    name: "targetSecurityGroupIds with a duplicate",
    inputs: { targetSecurityGroupIds: ["sg-0123456789abcdef0", "sg-0123456789abcdef0"] },
    expected: [
      `targetSecurityGroupIds[1]: targetSecurityGroupIds[1] is "sg-0123456789abcdef0"; expected each security group once`,
    ],
  },
  {
    name: "extraEniSecurityGroupTags with a non-string value",
    inputs: { extraEniSecurityGroupTags: { team: 1 } },
    expected: [
      `extraEniSecurityGroupTags.team: extraEniSecurityGroupTags.team is 1; expected a string (use "" to require only the key)`,
    ],
  },
  {
    name: "duplicate namespace in namespaces.include",
    inputs: { namespaces: { include: ["bad", "bad"] } },
    expected: [
      `namespaces.include[1]: namespaces.include[1] is "bad"; expected each namespace once in namespaces.include`,
    ],
  },
  {
    name: "duplicate namespace in namespaces.exclude",
    inputs: { namespaces: { exclude: ["a", "b", "a"] } },
    expected: [
      `namespaces.exclude[2]: namespaces.exclude[2] is "a"; expected each namespace once in namespaces.exclude`,
    ],
  },
  {
    name: "a namespace both included and excluded",
    inputs: { namespaces: { include: ["bad"], exclude: ["bad"] } },
    expected: [
      `namespaces.exclude: namespace "bad" is in both namespaces.include and namespaces.exclude; expected it in one list only`,
    ],
  },
  {
    name: "an invalid namespace name",
    inputs: { namespaces: { include: ["Bad_NS"] } },
    expected: [`namespaces.include[0]: namespaces.include[0] is "Bad_NS"; expected ${NS_EXPECTED}`],
  },
  {
    name: "an unknown namespaces key",
    inputs: { namespaces: { only: ["bad"] } },
    expected: [`namespaces.only: namespaces.only is ["bad"]; expected only include, exclude and overrides`],
  },
  {
    name: "a namespace override not a boolean",
    inputs: { namespaces: { overrides: { bad: "yes" } } },
    expected: [`namespaces.overrides.bad: namespaces.overrides.bad is "yes"; expected true or false`],
  },
  // ---- kubeconfig and the API server ----
  {
    name: "an empty kubeconfig",
    cluster: () => ({ name: CLUSTER, kubeconfig: "  \n" }),
    expected: [
      `cluster: cluster "${CLUSTER}": cannot load the kubeconfig (input cluster.kubeconfig): it is empty; expected a kubeconfig with a cluster, a user and a context`,
    ],
  },
  {
    name: "a corrupt kubeconfig",
    cluster: () => ({ name: CLUSTER, kubeconfig: "apiVersion: v1\nclusters: [{{{\n" }),
    expected: [
      `cluster: cluster "${CLUSTER}": cannot load the kubeconfig (input cluster.kubeconfig): it is not valid kubeconfig YAML; expected a kubeconfig with a cluster, a user and a context`,
    ],
  },
  {
    name: "a context the kubeconfig does not have",
    cluster: () => ({ name: CLUSTER, kubeconfig: kubeconfigOf(sandbox), context: "prod" }),
    expected: [
      `cluster: cluster "${CLUSTER}": input cluster.context is "prod"; the kubeconfig has contexts "sandbox"`,
    ],
  },
  {
    name: "an unreachable API server",
    cluster: () => ({ name: CLUSTER, kubeconfig: kubeconfigOf(sandbox, unreachable) }),
    expected: () => [
      // the kinds are listed in parallel: the first to fail names itself
      `cluster: cluster "${CLUSTER}": cannot reach the API server ${unreachable} while listing ingresses: ECONNREFUSED; check the kubeconfig's server address, the network path and that the cluster exists`,
    ],
  },
  {
    name: "an http:// API server without insecure-skip-tls-verify",
    cluster: () => ({ name: CLUSTER, kubeconfig: kubeconfigOf(sandbox, "http://127.0.0.1:1") }),
    expected: [
      `cluster: cluster "${CLUSTER}": the kubeconfig's cluster server http://127.0.0.1:1 is plain HTTP; expected an https:// server (or insecure-skip-tls-verify: true on that cluster entry)`,
    ],
  },
  {
    name: "a kubeconfig for another cluster (name mismatch)",
    cluster: () => ({ name: "other-cluster", kubeconfig: kubeconfigOf(sandbox) }),
    expected: () => {
      const id = seeded.nodes.find((n) => n.group === "g1")!.instanceId;
      return [
        `cluster: cluster "other-cluster": node instances is "${id} (eks:cluster-name=${CLUSTER}, kubernetes.io/cluster/${CLUSTER}=owned)"; expected at least one of the 1 node instances checked to carry tag kubernetes.io/cluster/other-cluster or eks:cluster-name=other-cluster (the kubeconfig seems to point at another cluster; planning against it would revoke this cluster's rules)`,
      ];
    },
  },
  // ---- EC2 ----
  {
    name: "a backend SG that does not exist",
    inputs: { backendSecurityGroupId: "sg-0123456789abcdef0" },
    expected: [
      "backendSecurityGroupId: backend security group sg-0123456789abcdef0 (backendSecurityGroupId) does not exist in this account and region; pass an existing security group id, or omit it to find the one tagged elbv2.k8s.aws/cluster=bad",
    ],
  },
  {
    name: "target SGs that do not exist",
    inputs: { targetSecurityGroupIds: ["sg-0123456789abcdef1"] },
    expected: [
      "targetSecurityGroupIds: target security groups sg-0123456789abcdef1 (targetSecurityGroupIds) do not exist in this account and region",
    ],
  },
  {
    name: "two SGs tagged as the backend SG",
    setup: async () => {
      const res = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: "bad-second-backend",
          Description: "second backend",
          VpcId: seeded.vpcId,
          TagSpecifications: [
            {
              ResourceType: "security-group",
              Tags: [
                { Key: "elbv2.k8s.aws/cluster", Value: CLUSTER },
                { Key: "elbv2.k8s.aws/resource", Value: "backend-sg" },
              ],
            },
          ],
        }),
      );
      secondBackend = res.GroupId ?? "";
      return async () => {
        await ec2.send(new DeleteSecurityGroupCommand({ GroupId: res.GroupId }));
      };
    },
    expected: () => {
      const ids = [seeded.backendSecurityGroupId, secondBackend].sort();
      return [
        `backendSecurityGroupId: 2 security groups are tagged as the backend security group of cluster ${CLUSTER} in ${seeded.vpcId} (${ids.join(", ")}): keep the tags elbv2.k8s.aws/cluster=${CLUSTER} and elbv2.k8s.aws/resource=backend-sg on one of them, or pass backendSecurityGroupId`,
      ];
    },
  },
  {
    name: "a wrong region (the nodes' instances are not there)",
    inputs: { region: "eu-west-1" },
    // moto serves every region, empty: the nodes' instances are not found there (only g1's node is in the
    // cluster outside the two-SG case)
    expected: () => {
      const id = seeded.nodes.find((n) => n.group === "g1")!.instanceId;
      return [
        `region: reading EC2: DescribeInstances for ${id}: InvalidInstanceID.NotFound: The instance ID '${id}' does not exist; the cluster's nodes are not in this region and account: check region (or aws:region) and the AWS credentials`,
      ];
    },
  },
  {
    name: "missing AWS credentials",
    env: {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      AWS_CONFIG_FILE: "/nonexistent/config",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    },
    expected: ["region: Could not load credentials from any providers"],
  },
  // ---- cluster objects ----
  {
    name: "an Ingress manage annotation that is not a boolean",
    objects: () => [
      ingress("yes-please", {
        [`${A}security-groups`]: "sg-0a1b2c3d4e5f60001",
        [`${A}manage-backend-security-group-rules`]: "yes",
      }),
    ],
    expected: [
      `cluster: Ingress bad/yes-please: annotation ${A}manage-backend-security-group-rules is "yes"; expected ${GO_BOOL}`,
    ],
  },
  {
    name: "a Service manage annotation that is not a boolean",
    objects: () => [
      nlb("maybe", {
        [`${S}aws-load-balancer-security-groups`]: "sg-0a1b2c3d4e5f60001",
        [`${S}aws-load-balancer-manage-backend-security-group-rules`]: "maybe",
      }),
    ],
    expected: [
      `cluster: Service bad/maybe: annotation ${S}aws-load-balancer-manage-backend-security-group-rules is "maybe"; expected ${GO_BOOL}`,
    ],
  },
  {
    name: "conflicting manage annotations in one IngressGroup",
    objects: () => [
      ingress("g-a", {
        [`${A}group.name`]: "team",
        [`${A}security-groups`]: "sg-0a1b2c3d4e5f60001",
        [`${A}manage-backend-security-group-rules`]: "true",
      }),
      ingress("g-b", {
        [`${A}group.name`]: "team",
        [`${A}security-groups`]: "sg-0a1b2c3d4e5f60001",
        [`${A}manage-backend-security-group-rules`]: "false",
      }),
    ],
    expected: [
      `cluster: IngressGroup team: annotation ${A}manage-backend-security-group-rules is "true on Ingress bad/g-a, false on Ingress bad/g-b"; expected every member that sets it to agree`,
    ],
  },
  {
    name: "different security-groups lists in one IngressGroup",
    objects: () => [
      ingress("sg-a", { [`${A}group.name`]: "sgs", [`${A}security-groups`]: "sg-0a1b2c3d4e5f60001" }),
      ingress("sg-b", { [`${A}group.name`]: "sgs", [`${A}security-groups`]: "sg-0a1b2c3d4e5f60002" }),
    ],
    expected: [
      `cluster: IngressGroup sgs: annotation ${A}security-groups of Ingress bad/sg-b is "sg-0a1b2c3d4e5f60002"; expected the same list as Ingress bad/sg-a (sg-0a1b2c3d4e5f60001)`,
    ],
  },
  {
    name: "an invalid group name",
    objects: () => [ingress("bad-group", { [`${A}group.name`]: "Team_A!" })],
    expected: [
      `cluster: Ingress bad/bad-group: annotation ${A}group.name is "Team_A!"; expected at most 63 lower-case alphanumerics, '-' or '.', starting and ending with an alphanumeric`,
    ],
  },
  {
    name: "a named targetPort missing on the pods (ip targets)",
    setup: async () => {
      const patch = (targetPort: string) =>
        sandbox.kubeRequest("PATCH", `${SVC}/named`, {
          spec: { ports: [{ name: "http", port: 80, targetPort }] },
        });
      assert.equal((await patch("grpc")).status, 200);
      return async () => {
        await patch("web");
      };
    },
    objects: () => [ingress("named", { [`${A}target-type`]: "ip" }, [{ service: "named", port: 80 }])],
    expected: [
      `cluster: Ingress bad/named: Service bad/named targetPort is "grpc"; expected a container port named grpc on every ready pod; Pod bad/named-pod-0 has none`,
    ],
  },
  {
    name: "an instance-mode NLB without nodePorts",
    objects: () => [
      nlb(
        "no-nodeports",
        { [`${S}aws-load-balancer-nlb-target-type`]: "instance" },
        { allocateLoadBalancerNodePorts: false },
      ),
    ],
    expected: [
      `cluster: Service bad/no-nodeports: Service bad/no-nodeports port tcp nodePort is unset; expected a nodePort: instance targets need a Service of type NodePort or LoadBalancer`,
    ],
  },
  {
    name: "an unknown target type annotation",
    objects: () => [ingress("pod-target", { [`${A}target-type`]: "pod" })],
    expected: [
      `cluster: Ingress bad/pod-target: annotation ${A}target-type is "pod"; expected instance or ip`,
    ],
  },
  {
    name: "an Ingress backend port the Service does not have",
    objects: () => [ingress("wrong-port", {}, [{ service: "web", port: 81 }])],
    expected: [
      `cluster: Ingress bad/wrong-port: backend service web port is "81"; expected one of [80/http]`,
    ],
  },
  {
    name: "an Ingress backend Service that does not exist",
    objects: () => [ingress("no-svc", {}, [{ service: "nope", port: 80 }])],
    expected: [
      `cluster: Ingress bad/no-svc: backend service is "nope"; expected an existing Service in namespace bad`,
    ],
  },
  {
    name: "two cluster-tagged SGs on one node's ENI",
    setup: async () => {
      const name = (dualNode.metadata as { name: string }).name;
      assert.equal((await sandbox.kubeRequest("POST", "/api/v1/nodes", dualNode)).status, 201);
      const st = await sandbox.kubeRequest("PATCH", `/api/v1/nodes/${name}/status`, { status: dualStatus });
      assert.equal(st.status, 200);
      return async () => {
        await sandbox.kubeRequest("DELETE", `/api/v1/nodes/${name}`);
      };
    },
    objects: () => [ingress("dual", {})],
    expected: () => {
      const node = seeded.nodes.find((n) => n.group === "dual")!;
      const sgs = [seeded.securityGroupIds["bad-dual-a"], seeded.securityGroupIds["bad-dual-b"]].sort();
      return [
        `cluster: ENI ${node.eniId}: security groups is "${sgs.join(",")}"; expected exactly one security group tagged kubernetes.io/cluster/${CLUSTER} (2 carry the tags)`,
      ];
    },
  },
];

let secondBackend = "";

before(async () => {
  sandbox = await getSandbox();
  await sandbox.resetEc2();
  await clearCluster(sandbox);
  seeded = await seedScenario(sandbox, sandbox.info.motoUrl, scenario());
  ec2 = directEc2(sandbox);
  proxy = await startProxy(sandbox);
  unreachable = `https://127.0.0.1:${await closedPort()}`;
  // The node with two cluster-tagged SGs is taken out of the cluster; one case puts it back.
  const node = seeded.nodes.find((n) => n.group === "dual")!;
  const got = await sandbox.kubeRequest("GET", `/api/v1/nodes/${node.name}`);
  const body = got.body as { metadata: Record<string, unknown> };
  dualNode = {
    ...body,
    metadata: { name: body.metadata.name, labels: body.metadata.labels },
  };
  dualStatus = (body as { status?: unknown }).status;
  delete (dualNode as { status?: unknown }).status;
  await sandbox.kubeRequest("DELETE", `/api/v1/nodes/${node.name}`);
});

after(async () => {
  await proxy?.close();
  ec2?.destroy();
  await clearCluster(sandbox);
  await sandbox.resetEc2();
  await sandbox.stop();
});

async function runCase(c: BadCase): Promise<string[]> {
  const created: KubeObject[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  const savedEnv: Record<string, string | undefined> = {};
  try {
    for (const o of c.objects?.() ?? []) {
      const res = await sandbox.kubeRequest("POST", o.path, o.body);
      assert.equal(
        res.status,
        201,
        `${c.name}: creating ${o.body.metadata.name}: ${JSON.stringify(res.body)}`,
      );
      created.push(o);
    }
    if (c.setup) cleanup = await c.setup();
    for (const [k, v] of Object.entries(c.env ?? {})) {
      savedEnv[k] = process.env[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const cluster = c.cluster?.() ?? { name: CLUSTER, kubeconfig: kubeconfigOf(sandbox) };
    const news: Record<string, unknown> = {
      manageBackendSecurityGroupRules: true,
      ownerId: OWNER,
      ...(cluster.__missing ? {} : { cluster }),
      ...c.inputs,
    };
    proxy.resetCounts();
    const res = await provider.check!({} as Inputs, news as unknown as Inputs);
    assert.equal(mutations(proxy), 0, `${c.name}: EC2 mutating calls ${JSON.stringify(proxy.counts())}`);
    const lines = (res.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    // Invariant 6: no failure quotes the kubeconfig or its token
    for (const l of lines) assert.ok(!l.includes(sandbox.info.kube.token), `${c.name}: the token leaked`);
    return lines;
  } finally {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await cleanup?.();
    for (const o of created.reverse())
      await sandbox.kubeRequest("DELETE", `${o.path}/${o.body.metadata.name}`);
  }
}

test("the corpus has at least 40 cases", () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const c of cases) {
  test(`bad input: ${c.name}`, c.todo ? { todo: c.todo } : {}, async () => {
    const actual = await runCase(c);
    if (process.env.RECORD) process.stdout.write(`RECORD ${c.name}\n${JSON.stringify(actual, null, 2)}\n`);
    const expected = typeof c.expected === "function" ? c.expected() : c.expected;
    assert.ok(actual.length > 0, `${c.name}: check passed`);
    assert.deepEqual(actual, expected);
  });
}
