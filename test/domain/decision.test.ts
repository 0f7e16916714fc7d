// Is management on. These prove the decision, through the rules it yields; they do not prove port choice.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRules } from "../../provider/domain/index.js";
import {
  cluster,
  ec2,
  ingress,
  MANAGE_ANN,
  nlb,
  opts,
  SG_ANN,
  SVC_MANAGE_ANN,
  SVC_SG_ANN,
  service,
} from "./builders.js";

const RULE = "sg-node|tcp|30080-30080|sg-backend";
const WEB = service("team-a", "web");

describe("Service decision", () => {
  const cases: Array<{
    name: string;
    ann: Record<string, string>;
    flag: boolean;
    overrides?: Record<string, boolean>;
    managed: boolean;
    by?: string;
  }> = [
    {
      name: "no frontend SG annotation: managed whatever the flag (false)",
      ann: {},
      flag: false,
      managed: true,
    },
    {
      name: "no frontend SG annotation: manage=false is not consulted",
      ann: { [SVC_MANAGE_ANN]: "false" },
      flag: false,
      managed: true,
    },
    {
      name: "explicit SGs and annotation true beat the flag false",
      ann: { [SVC_SG_ANN]: "sg-1", [SVC_MANAGE_ANN]: "true" },
      flag: false,
      managed: true,
    },
    {
      name: "explicit SGs and annotation false beat the flag true",
      ann: { [SVC_SG_ANN]: "sg-1", [SVC_MANAGE_ANN]: "false" },
      flag: true,
      managed: false,
      by: "annotation",
    },
    {
      name: "explicit SGs, no annotation: the flag false",
      ann: { [SVC_SG_ANN]: "sg-1" },
      flag: false,
      managed: false,
      by: "flag",
    },
    {
      name: "explicit SGs, no annotation: the flag true",
      ann: { [SVC_SG_ANN]: "sg-1" },
      flag: true,
      managed: true,
    },
    {
      name: "an SG list of only commas counts as no frontend SGs",
      ann: { [SVC_SG_ANN]: " , ", [SVC_MANAGE_ANN]: "false" },
      flag: false,
      managed: true,
    },
    {
      name: "namespace override true beats the flag false",
      ann: { [SVC_SG_ANN]: "sg-1" },
      flag: false,
      overrides: { ns: true },
      managed: true,
    },
    {
      name: "namespace override false beats the flag true",
      ann: { [SVC_SG_ANN]: "sg-1" },
      flag: true,
      overrides: { ns: false },
      managed: false,
      by: "namespace-override",
    },
    {
      name: "annotation beats the namespace override",
      ann: { [SVC_SG_ANN]: "sg-1", [SVC_MANAGE_ANN]: "1" },
      flag: false,
      overrides: { ns: false },
      managed: true,
    },
    {
      name: "another namespace's override does not apply",
      ann: { [SVC_SG_ANN]: "sg-1" },
      flag: false,
      overrides: { other: true },
      managed: false,
      by: "flag",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planRules(
        cluster({ services: [nlb("ns", "x", { annotations: c.ann })] }),
        ec2(),
        opts({
          manageBackendSecurityGroupRules: c.flag,
          namespaces: c.overrides === undefined ? {} : { overrides: c.overrides },
        }),
      );
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(Object.keys(plan.rules), c.managed ? [RULE] : []);
      assert.deepEqual(
        plan.skipped.map((s) => s.by),
        c.managed ? [] : [c.by],
      );
    });
  }

  test("the skip reason names the annotation and value", () => {
    const plan = planRules(
      cluster({
        services: [nlb("ns", "x", { annotations: { [SVC_SG_ANN]: "sg-1", [SVC_MANAGE_ANN]: "F" } })],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(plan.skipped, [
      {
        object: "Service ns/x",
        reason:
          "management off: annotation service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules=false",
        by: "annotation",
      },
    ]);
  });

  test("the flag skip reason names the flag and the frontend SG annotation", () => {
    const plan = planRules(
      cluster({ services: [nlb("ns", "x", { annotations: { [SVC_SG_ANN]: "sg-1" } })] }),
      ec2(),
      opts(),
    );
    assert.equal(
      plan.skipped[0]?.reason,
      "management off: global flag manageBackendSecurityGroupRules=false (frontend security groups set by annotation service.beta.kubernetes.io/aws-load-balancer-security-groups)",
    );
  });

  test("a manage annotation that is not a Go boolean is a problem, never a default", () => {
    const plan = planRules(
      cluster({
        services: [nlb("ns", "x", { annotations: { [SVC_SG_ANN]: "sg-1", [SVC_MANAGE_ANN]: "yes" } })],
      }),
      ec2(),
      opts({ manageBackendSecurityGroupRules: true }),
    );
    assert.deepEqual(Object.keys(plan.rules), []);
    assert.deepEqual(
      plan.problems.map((p) => [p.object, p.field, p.value]),
      [["Service ns/x", `annotation ${SVC_MANAGE_ANN}`, "yes"]],
    );
  });
});

describe("Ingress group decision", () => {
  const grp = (name: string, ann: Record<string, string>) =>
    ingress("team-a", name, {
      className: "alb",
      annotations: { "alb.ingress.kubernetes.io/group.name": "g", ...ann },
    });

  test("Ingress example from the style guide: manage=yes is a problem with the exact message", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("team-a", "web", {
            className: "alb",
            annotations: { [SG_ANN]: "sg-1", [MANAGE_ANN]: "yes" },
          }),
        ],
        services: [WEB],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Ingress team-a/web: annotation alb.ingress.kubernetes.io/manage-backend-security-group-rules is "yes"; expected true or false (Go ParseBool: 1 t T TRUE true True 0 f F FALSE false False)',
      ],
    );
  });

  test("no member sets security-groups: managed, the manage annotation is not consulted (even if invalid)", () => {
    const plan = planRules(
      cluster({ ingresses: [grp("a", { [MANAGE_ANN]: "nonsense" }), grp("b", {})], services: [WEB] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.rules[RULE]?.neededBy, ["Ingress team-a/a", "Ingress team-a/b"]);
  });

  test("members that set security-groups with the same list after trimming agree", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          grp("a", { [SG_ANN]: "sg-1, sg-2" }),
          grp("b", { [SG_ANN]: " sg-1 ,sg-2, " }),
          grp("c", {}),
        ],
        services: [WEB],
      }),
      ec2(),
      opts({ manageBackendSecurityGroupRules: true }),
    );
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.rules[RULE]?.neededBy, [
      "Ingress team-a/a",
      "Ingress team-a/b",
      "Ingress team-a/c",
    ]);
  });

  test("different security-groups order in a group is a problem for the group", () => {
    const plan = planRules(
      cluster({
        ingresses: [grp("a", { [SG_ANN]: "sg-1,sg-2" }), grp("b", { [SG_ANN]: "sg-2,sg-1" })],
        services: [WEB],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'IngressGroup g: annotation alb.ingress.kubernetes.io/security-groups of Ingress team-a/b is "sg-2,sg-1"; expected the same list as Ingress team-a/a (sg-1,sg-2)',
      ],
    );
    assert.deepEqual(Object.keys(plan.rules), []);
  });

  test("members that disagree on manage are a problem for the group", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          grp("a", { [SG_ANN]: "sg-1", [MANAGE_ANN]: "true" }),
          grp("b", { [MANAGE_ANN]: "false" }),
        ],
        services: [WEB],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'IngressGroup g: annotation alb.ingress.kubernetes.io/manage-backend-security-group-rules is "true on Ingress team-a/a, false on Ingress team-a/b"; expected every member that sets it to agree',
      ],
    );
  });

  test("one member's manage=true decides for the whole group, including members without the annotation", () => {
    const plan = planRules(
      cluster({
        ingresses: [grp("a", { [SG_ANN]: "sg-1" }), grp("b", { [MANAGE_ANN]: "true" })],
        services: [WEB],
      }),
      ec2(),
      opts({ manageBackendSecurityGroupRules: false }),
    );
    assert.deepEqual(plan.rules[RULE]?.neededBy, ["Ingress team-a/a", "Ingress team-a/b"]);
  });

  test("a group off by the flag skips every member, naming the group", () => {
    const plan = planRules(
      cluster({ ingresses: [grp("a", { [SG_ANN]: "sg-1" }), grp("b", {})], services: [WEB] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.skipped.map((s) => [s.object, s.by, s.reason.endsWith("(IngressGroup g)")]),
      [
        ["Ingress team-a/a", "flag", true],
        ["Ingress team-a/b", "flag", true],
      ],
    );
  });

  test("a group spanning namespaces with conflicting overrides is a problem", () => {
    const a = ingress("ns1", "a", {
      className: "alb",
      annotations: { "alb.ingress.kubernetes.io/group.name": "g", [SG_ANN]: "sg-1" },
    });
    const b = ingress("ns2", "b", {
      className: "alb",
      annotations: { "alb.ingress.kubernetes.io/group.name": "g" },
    });
    const plan = planRules(
      cluster({ ingresses: [a, b], services: [service("ns1", "web"), service("ns2", "web")] }),
      ec2(),
      opts({ namespaces: { overrides: { ns1: true, ns2: false } } }),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'IngressGroup g: namespace overrides is "ns1=true, ns2=false"; expected members\' namespaces to agree on the manage setting',
      ],
    );
  });
});
