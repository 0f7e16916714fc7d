// Where rules go: eligible nodes, ENI SG choice, pod ENIs, the override. Ports are fixed (nodePort 30080 / 8080).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { computeEc2Needs, planRules } from "../../provider/domain/index.js";
import { cluster, ec2, ingress, nlb, node, opts, pod, service, slice } from "./builders.js";

describe("eligible nodes", () => {
  const cases: Array<[string, Parameters<typeof node>[2]]> = [
    ["control-plane label", { labels: { "node-role.kubernetes.io/control-plane": "" } }],
    ["legacy master label", { labels: { "node-role.kubernetes.io/master": "" } }],
    [
      "exclude-from-external-load-balancers label",
      { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "true" } },
    ],
    ["Fargate", { labels: { "eks.amazonaws.com/compute-type": "fargate" } }],
    ["NotReady", { ready: false }],
    [
      "ToBeDeletedByClusterAutoscaler taint",
      { taints: [{ key: "ToBeDeletedByClusterAutoscaler", effect: "NoSchedule" }] },
    ],
    ["deletionTimestamp", { deleting: true }],
  ];
  for (const [why, o] of cases) {
    test(`a node excluded by ${why} gets no rule and is not asked of EC2`, () => {
      const e = ec2();
      e.instancePrimaryEni["i-3"] = "eni-3";
      e.networkInterfaces["eni-3"] = { id: "eni-3", securityGroupIds: ["sg-other"], privateIpAddresses: [] };
      const c = cluster({ services: [nlb("a", "x")], nodes: [node("n1", "i-1"), node("n3", "i-3", o)] });
      assert.deepEqual(Object.keys(planRules(c, e, opts()).rules), ["sg-node|tcp|30080-30080|sg-backend"]);
      assert.deepEqual(computeEc2Needs(c, opts()).instanceIds, ["i-1"]);
    });
  }

  test("target-node-labels keeps only matching nodes", () => {
    const e = ec2();
    e.networkInterfaces["eni-2"] = { id: "eni-2", securityGroupIds: ["sg-web"], privateIpAddresses: [] };
    const c = cluster({
      services: [
        nlb("a", "x", {
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-target-node-labels": "role=web" },
        }),
      ],
      nodes: [node("n1", "i-1"), node("n2", "i-2", { labels: { role: "web" } })],
    });
    assert.deepEqual(Object.keys(planRules(c, e, opts()).rules), ["sg-web|tcp|30080-30080|sg-backend"]);
    assert.deepEqual(computeEc2Needs(c, opts()).instanceIds, ["i-2"]);
  });
  test("an Ingress's target-node-labels applies to its instance targets", () => {
    const e = ec2();
    e.networkInterfaces["eni-2"] = { id: "eni-2", securityGroupIds: ["sg-web"], privateIpAddresses: [] };
    const c = cluster({
      ingresses: [
        ingress("a", "web", {
          className: "alb",
          annotations: { "alb.ingress.kubernetes.io/target-node-labels": "role=web" },
        }),
      ],
      services: [service("a", "web")],
      nodes: [node("n1", "i-1"), node("n2", "i-2", { labels: { role: "web" } })],
    });
    assert.deepEqual(Object.keys(planRules(c, e, opts()).rules), ["sg-web|tcp|30080-30080|sg-backend"]);
  });

  test("a malformed target-node-labels is a problem", () => {
    const c = cluster({
      services: [
        nlb("a", "x", {
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-target-node-labels": "role" },
        }),
      ],
    });
    assert.deepEqual(
      planRules(c, ec2(), opts()).problems.map((p) => p.message),
      [
        'Service a/x: annotation service.beta.kubernetes.io/aws-load-balancer-target-node-labels is "role"; expected key=value pairs separated by commas',
      ],
    );
  });
});

describe("ENI security group choice", () => {
  const tagged = { "kubernetes.io/cluster/demo": "owned" };
  test("an ENI with one SG uses it, tags or not", () => {
    const e = ec2({ securityGroups: {} });
    assert.deepEqual(Object.keys(planRules(cluster({ services: [nlb("a", "x")] }), e, opts()).rules), [
      "sg-node|tcp|30080-30080|sg-backend",
    ]);
  });
  test("with several SGs, the one carrying the cluster tag key", () => {
    const e = ec2();
    e.networkInterfaces["eni-1"]!.securityGroupIds = ["sg-a", "sg-b"];
    e.networkInterfaces["eni-2"]!.securityGroupIds = ["sg-a", "sg-b"];
    e.securityGroups = { "sg-a": { id: "sg-a", tags: {} }, "sg-b": { id: "sg-b", tags: tagged } };
    assert.deepEqual(Object.keys(planRules(cluster({ services: [nlb("a", "x")] }), e, opts()).rules), [
      "sg-b|tcp|30080-30080|sg-backend",
    ]);
  });
  test("with several SGs tagged, none chosen: a problem naming the ENI and the candidates", () => {
    const e = ec2();
    e.instancePrimaryEni = { "i-1": "eni-1" };
    e.networkInterfaces["eni-1"]!.securityGroupIds = ["sg-b", "sg-a"];
    e.securityGroups = { "sg-a": { id: "sg-a", tags: tagged }, "sg-b": { id: "sg-b", tags: tagged } };
    const plan = planRules(cluster({ services: [nlb("a", "x")], nodes: [node("n1", "i-1")] }), e, opts());
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'ENI eni-1: security groups is "sg-a,sg-b"; expected exactly one security group tagged kubernetes.io/cluster/demo (2 carry the tags)',
      ],
    );
  });
  test("with several SGs and none tagged: a problem", () => {
    const e = ec2({ securityGroups: {} });
    e.instancePrimaryEni = { "i-1": "eni-1" };
    e.networkInterfaces["eni-1"]!.securityGroupIds = ["sg-a", "sg-b"];
    const plan = planRules(cluster({ services: [nlb("a", "x")], nodes: [node("n1", "i-1")] }), e, opts());
    assert.equal(plan.problems[0]?.message.endsWith("(none carries the tags)"), true);
  });
  test("extra required tags narrow the choice", () => {
    const e = ec2();
    e.networkInterfaces["eni-1"]!.securityGroupIds = ["sg-a", "sg-b"];
    e.networkInterfaces["eni-2"]!.securityGroupIds = ["sg-a", "sg-b"];
    e.securityGroups = {
      "sg-a": { id: "sg-a", tags: { ...tagged, tier: "web" } },
      "sg-b": { id: "sg-b", tags: tagged },
    };
    const plan = planRules(
      cluster({ services: [nlb("a", "x")] }),
      e,
      opts({ extraEniSecurityGroupTags: { tier: "web" } }),
    );
    assert.deepEqual(Object.keys(plan.rules), ["sg-a|tcp|30080-30080|sg-backend"]);
  });
  test("a node whose instance EC2 did not return is a problem", () => {
    const plan = planRules(cluster({ services: [nlb("a", "x")], nodes: [node("n9", "i-9")] }), ec2(), opts());
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      ['Node n9: instance is "i-9"; expected an instance whose primary ENI was read from EC2'],
    );
  });
  test("the destination override wins over discovery", () => {
    const plan = planRules(
      cluster({ services: [nlb("a", "x")] }),
      ec2(),
      opts({ targetSecurityGroupIds: ["sg-x", "sg-y"] }),
    );
    assert.deepEqual(Object.keys(plan.rules), [
      "sg-x|tcp|30080-30080|sg-backend",
      "sg-y|tcp|30080-30080|sg-backend",
    ]);
    assert.deepEqual(
      computeEc2Needs(cluster({ services: [nlb("a", "x")] }), opts({ targetSecurityGroupIds: ["sg-x"] })),
      {
        instanceIds: [],
        podIps: [],
        branchEniIds: [],
      },
    );
  });
});

describe("pod ENIs", () => {
  const ipSvc = nlb("a", "x", {
    annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" },
  });
  test("a branch ENI from vpc.amazonaws.com/pod-eni is used", () => {
    const e = ec2();
    e.networkInterfaces["eni-br"] = {
      id: "eni-br",
      securityGroupIds: ["sg-pod"],
      privateIpAddresses: ["10.0.9.9"],
    };
    const p = pod("a", "p1", "10.0.9.9", [], {
      "vpc.amazonaws.com/pod-eni": JSON.stringify([
        { eniId: "eni-br", ifAddress: "02:00", privateIp: "10.0.9.9", vlanId: 1, subnetCidr: "10.0.9.0/24" },
      ]),
    });
    const c = cluster({
      services: [ipSvc],
      pods: [p],
      endpointSlices: [slice("a", "x", [{ ip: "10.0.9.9", pod: "p1" }])],
    });
    assert.deepEqual(Object.keys(planRules(c, e, opts()).rules), ["sg-pod|tcp|8080-8080|sg-backend"]);
    assert.deepEqual(computeEc2Needs(c, opts()), { instanceIds: [], podIps: [], branchEniIds: ["eni-br"] });
  });
  test("without a branch ENI, the ENI holding the pod IP", () => {
    const c = cluster({
      services: [ipSvc],
      pods: [pod("a", "p1", "10.0.1.2")],
      endpointSlices: [slice("a", "x", [{ ip: "10.0.1.2", pod: "p1" }])],
    });
    assert.deepEqual(Object.keys(planRules(c, ec2(), opts()).rules), ["sg-node|tcp|8080-8080|sg-backend"]);
    assert.deepEqual(computeEc2Needs(c, opts()), { instanceIds: [], podIps: ["10.0.1.2"], branchEniIds: [] });
  });
  test("a pod IP on no known ENI is a problem", () => {
    const c = cluster({
      services: [ipSvc],
      pods: [pod("a", "p1", "10.7.7.7")],
      endpointSlices: [slice("a", "x", [{ ip: "10.7.7.7", pod: "p1" }])],
    });
    assert.deepEqual(
      planRules(c, ec2(), opts()).problems.map((p) => p.message),
      ['Pod a/p1: IP is "10.7.7.7"; expected an address on an ENI read from EC2'],
    );
  });
  test("a malformed pod-eni annotation is a problem", () => {
    const p = pod("a", "p1", "10.0.1.2", [], { "vpc.amazonaws.com/pod-eni": "{oops" });
    const c = cluster({
      services: [ipSvc],
      pods: [p],
      endpointSlices: [slice("a", "x", [{ ip: "10.0.1.2", pod: "p1" }])],
    });
    assert.deepEqual(
      planRules(c, ec2(), opts()).problems.map((p2) => p2.field),
      ["annotation vpc.amazonaws.com/pod-eni"],
    );
  });
});
