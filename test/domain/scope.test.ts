// Which objects are ours. These run the whole planner, so they also show that out-of-scope objects add no rules;
// they do not prove anything about EC2-side behaviour.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRules } from "../../provider/domain/index.js";
import { albClass, cluster, ec2, ingress, nlb, opts, service } from "./builders.js";

const WEB = service("team-a", "web");
const RULE = "sg-node|tcp|30080-30080|sg-backend";

describe("ingress class", () => {
  const cases: Array<{
    name: string;
    ing: Parameters<typeof ingress>[2];
    classes?: ReturnType<typeof albClass>[];
    want: string[];
    skip?: string;
  }> = [
    {
      name: "annotation alb is ours",
      ing: { annotations: { "kubernetes.io/ingress.class": "alb" } },
      want: [RULE],
    },
    {
      name: "annotation beats spec.ingressClassName",
      ing: { annotations: { "kubernetes.io/ingress.class": "nginx" }, className: "alb" },
      want: [],
      skip: "out of scope: ingress class nginx (annotation kubernetes.io/ingress.class)",
    },
    {
      name: "annotation alb wins even when ingressClassName names another controller's class",
      ing: { annotations: { "kubernetes.io/ingress.class": "alb" }, className: "nginx" },
      want: [RULE],
    },
    { name: "ingressClassName of an ALB IngressClass is ours", ing: { className: "alb" }, want: [RULE] },
    {
      name: "ingressClassName of another controller is out of scope",
      ing: { className: "nginx" },
      classes: [
        albClass(),
        { kind: "IngressClass", metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } },
      ],
      want: [],
      skip: "out of scope: ingress class nginx (controller k8s.io/ingress-nginx)",
    },
    {
      name: "missing IngressClass is ignored",
      ing: { className: "gone" },
      want: [],
      skip: "out of scope: IngressClass gone not found",
    },
    {
      name: "no class and no default is ignored",
      ing: {},
      want: [],
      skip: "out of scope: no ingress class and no default IngressClass",
    },
    {
      name: "no class uses the default IngressClass",
      ing: {},
      classes: [albClass("alb", {}, true)],
      want: [RULE],
    },
    {
      name: "default IngressClass of another controller leaves class-less Ingresses out",
      ing: {},
      classes: [
        {
          kind: "IngressClass",
          metadata: { name: "nginx", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } },
          spec: { controller: "k8s.io/ingress-nginx" },
        },
      ],
      want: [],
      skip: "out of scope: ingress class nginx (controller k8s.io/ingress-nginx)",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planRules(
        cluster({
          ingresses: [ingress("team-a", "web", c.ing)],
          services: [WEB],
          ingressClasses: c.classes ?? [albClass()],
        }),
        ec2(),
        opts(),
      );
      assert.deepEqual(Object.keys(plan.rules), c.want);
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(
        plan.skipped.map((s) => s.reason),
        c.skip === undefined ? [] : [c.skip],
      );
    });
  }

  test("two default IngressClasses is one problem naming both", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("team-a", "web"), ingress("team-a", "api")],
        services: [WEB],
        ingressClasses: [albClass("alb", {}, true), albClass("alb2", {}, true)],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'IngressClass alb, alb2: annotation ingressclass.kubernetes.io/is-default-class is "true"; expected at most one default IngressClass (Ingresses without a class cannot be assigned)',
      ],
    );
    assert.deepEqual(Object.keys(plan.rules), []);
  });

  test("a configured ingress class other than alb matches the annotation by that name", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("team-a", "web", { annotations: { "kubernetes.io/ingress.class": "alb-internal" } }),
        ],
        services: [WEB],
      }),
      ec2(),
      opts({ ingressClass: "alb-internal" }),
    );
    assert.deepEqual(Object.keys(plan.rules), [RULE]);
  });

  test("an Ingress being deleted is gone: no rule, not reported", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("team-a", "web", { className: "alb", deleting: true })],
        services: [WEB],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), []);
    assert.deepEqual(plan.skipped, []);
    assert.equal(plan.counts.ingresses, 0);
  });

  test("IngressClassParams named by the class but missing is a problem", () => {
    const cls = albClass("alb", {
      spec: {
        controller: "ingress.k8s.aws/alb",
        parameters: { apiGroup: "elbv2.k8s.aws", kind: "IngressClassParams", name: "p1" },
      },
    });
    const plan = planRules(
      cluster({
        ingresses: [ingress("team-a", "web", { className: "alb" })],
        services: [WEB],
        ingressClasses: [cls],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Ingress team-a/web: IngressClass alb spec.parameters is "p1"; expected an existing IngressClassParams',
      ],
    );
  });
});

describe("ingress groups", () => {
  const bad: Array<[string, string]> = [
    ["upper case", "Team-A"],
    ["leading dash", "-team"],
    ["trailing dot", "team."],
    ["underscore", "team_a"],
    ["64 characters", "a".repeat(64)],
  ];
  for (const [why, name] of bad) {
    test(`group.name with ${why} is a problem`, () => {
      const plan = planRules(
        cluster({
          ingresses: [
            ingress("team-a", "web", {
              className: "alb",
              annotations: { "alb.ingress.kubernetes.io/group.name": name },
            }),
          ],
          services: [WEB],
        }),
        ec2(),
        opts(),
      );
      assert.equal(plan.problems.length, 1);
      assert.equal(plan.problems[0]?.field, "annotation alb.ingress.kubernetes.io/group.name");
      assert.equal(plan.problems[0]?.value, name);
      assert.deepEqual(Object.keys(plan.rules), []);
    });
  }
  const good = ["a", "team-a.web", "a".repeat(63), "0team9"];
  for (const name of good) {
    test(`group.name ${name.length > 10 ? "of 63 characters" : name} is valid`, () => {
      const plan = planRules(
        cluster({
          ingresses: [
            ingress("team-a", "web", {
              className: "alb",
              annotations: { "alb.ingress.kubernetes.io/group.name": name },
            }),
          ],
          services: [WEB],
        }),
        ec2(),
        opts(),
      );
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(Object.keys(plan.rules), [RULE]);
    });
  }
  test("group.order outside -1000..1000 is a problem", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("team-a", "web", {
            className: "alb",
            annotations: { "alb.ingress.kubernetes.io/group.order": "1001" },
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
        'Ingress team-a/web: annotation alb.ingress.kubernetes.io/group.order is "1001"; expected an integer from -1000 to 1000',
      ],
    );
  });
  test("IngressClassParams group beats the group.name annotation", () => {
    const cls = albClass("alb", {
      spec: { controller: "ingress.k8s.aws/alb", parameters: { kind: "IngressClassParams", name: "p1" } },
    });
    const params = {
      kind: "IngressClassParams" as const,
      metadata: { name: "p1" },
      spec: { group: { name: "shared" } },
    };
    // Two Ingresses with different group.name annotations land in the params' group, so their SG lists must agree.
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("team-a", "web", {
            className: "alb",
            annotations: {
              "alb.ingress.kubernetes.io/group.name": "x",
              "alb.ingress.kubernetes.io/security-groups": "sg-1",
            },
          }),
          ingress("team-a", "api", {
            className: "alb",
            annotations: {
              "alb.ingress.kubernetes.io/group.name": "y",
              "alb.ingress.kubernetes.io/security-groups": "sg-2",
            },
          }),
        ],
        services: [WEB],
        ingressClasses: [cls],
        ingressClassParams: [params],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.object),
      ["IngressGroup shared"],
    );
  });
});

describe("services", () => {
  const cases: Array<{ name: string; svc: ReturnType<typeof service>; want: string[]; skip?: string }> = [
    { name: "loadBalancerClass service.k8s.aws/nlb is ours", svc: nlb("ns", "x"), want: [RULE] },
    {
      name: "another loadBalancerClass is out of scope",
      svc: service("ns", "x", { type: "LoadBalancer", loadBalancerClass: "other/lb" }),
      want: [],
      skip: "out of scope: loadBalancerClass other/lb",
    },
    {
      name: "annotation nlb-ip is ours (ip targets)",
      svc: service("ns", "x", {
        type: "LoadBalancer",
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb-ip" },
      }),
      want: [],
    },
    {
      name: "external with nlb-target-type instance is ours",
      svc: service("ns", "x", {
        type: "LoadBalancer",
        annotations: {
          "service.beta.kubernetes.io/aws-load-balancer-type": "external",
          "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
        },
      }),
      want: [RULE],
    },
    {
      name: "external without a target type is out of scope",
      svc: service("ns", "x", {
        type: "LoadBalancer",
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "external" },
      }),
      want: [],
      skip: "out of scope: service.beta.kubernetes.io/aws-load-balancer-type external needs service.beta.kubernetes.io/aws-load-balancer-nlb-target-type ip or instance (is unset)",
    },
    {
      name: "type nlb is the in-tree provider's",
      svc: service("ns", "x", {
        type: "LoadBalancer",
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
      }),
      want: [],
      skip: "out of scope: service.beta.kubernetes.io/aws-load-balancer-type nlb is handled by the in-tree cloud provider",
    },
    {
      name: "a LoadBalancer Service with neither class nor annotation is the in-tree provider's",
      svc: service("ns", "x", { type: "LoadBalancer" }),
      want: [],
      skip: "out of scope: no loadBalancerClass and no aws-load-balancer-type annotation (in-tree cloud provider)",
    },
    {
      name: "a plain NodePort Service is not a load balancer: not reported",
      svc: service("ns", "x"),
      want: [],
    },
    {
      name: "type LoadBalancer is not required (the LBC's ServiceTypeLoadBalancerOnly gate is off by default)",
      svc: service("ns", "x", {
        type: "NodePort",
        annotations: {
          "service.beta.kubernetes.io/aws-load-balancer-type": "external",
          "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
        },
      }),
      want: [RULE],
    },
    { name: "a Service being deleted is gone", svc: nlb("ns", "x", { deleting: true }), want: [] },
    {
      name: "disable-nlb-sg true is skipped with the reason",
      svc: nlb("ns", "x", {
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg": "true" },
      }),
      want: [],
      skip: "NLB without security groups (service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg) uses CIDR rules: out of scope",
    },
    {
      name: "disable-nlb-sg false keeps the Service in scope",
      svc: nlb("ns", "x", {
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg": "False" },
      }),
      want: [RULE],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planRules(cluster({ services: [c.svc] }), ec2(), opts());
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(Object.keys(plan.rules), c.want);
      assert.deepEqual(
        plan.skipped.map((s) => s.reason),
        c.skip === undefined ? [] : [c.skip],
      );
    });
  }
  test("disable-nlb-sg that is not a Go boolean is a problem", () => {
    const plan = planRules(
      cluster({
        services: [
          nlb("ns", "x", {
            annotations: { "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg": "yes" },
          }),
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Service ns/x: annotation service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg is "yes"; expected true or false (Go ParseBool: 1 t T TRUE true True 0 f F FALSE false False)',
      ],
    );
  });
});

describe("namespace policy", () => {
  test("an excluded namespace is skipped by namespace-policy", () => {
    const plan = planRules(
      cluster({ services: [nlb("kube-system", "x")] }),
      ec2(),
      opts({ namespaces: { exclude: ["kube-system"] } }),
    );
    assert.deepEqual(plan.skipped, [
      {
        object: "Service kube-system/x",
        reason: "out of scope: namespace kube-system is excluded by the namespace policy",
        by: "namespace-policy",
      },
    ]);
  });
  test("with an include list, other namespaces are skipped", () => {
    const plan = planRules(
      cluster({ services: [nlb("a", "x"), nlb("b", "y")] }),
      ec2(),
      opts({ namespaces: { include: ["a"] } }),
    );
    assert.deepEqual(plan.rules[RULE]?.neededBy, ["Service a/x"]);
    assert.deepEqual(
      plan.skipped.map((s) => s.object),
      ["Service b/y"],
    );
  });
  test("exclude beats include", () => {
    const plan = planRules(
      cluster({ services: [nlb("a", "x")] }),
      ec2(),
      opts({ namespaces: { include: ["a"], exclude: ["a"] } }),
    );
    assert.deepEqual(Object.keys(plan.rules), []);
  });
});
