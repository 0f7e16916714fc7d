// Which ports: target type, nodePort/targetPort, named ports per pod, health checks, protocols.
// Destinations are the default two-node world (everything on sg-node); port choice is what is under test.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRules } from "../../provider/domain/index.js";
import { cluster, ec2, ingress, nlb, opts, pod, service, slice } from "./builders.js";

const key = (proto: string, from: number, to = from) => `sg-node|${proto}|${from}-${to}|sg-backend`;
const IP = { "alb.ingress.kubernetes.io/target-type": "ip" };

describe("Ingress ports", () => {
  test("the backend Service's target-type beats the Ingress's", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", annotations: IP })],
        services: [
          service("a", "web", { annotations: { "alb.ingress.kubernetes.io/target-type": "instance" } }),
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 30080)]);
  });

  test("ip mode uses the numeric targetPort of each ready endpoint", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", annotations: IP })],
        services: [service("a", "web")],
        pods: [pod("a", "p1", "10.0.1.1")],
        endpointSlices: [
          slice("a", "web", [
            { ip: "10.0.1.1", pod: "p1" },
            { ip: "10.0.1.2", ready: false },
          ]),
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080)]);
  });

  test("ip mode resolves a named targetPort per pod (two pods, two ports)", () => {
    const svc = service("a", "web", {
      ports: [{ name: "http", port: 80, targetPort: "web", nodePort: 30080 }],
    });
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", annotations: IP })],
        services: [svc],
        pods: [
          pod("a", "p1", "10.0.1.1", [{ name: "web", containerPort: 8080 }]),
          pod("a", "p2", "10.0.1.2", [{ name: "web", containerPort: 9090 }]),
        ],
        endpointSlices: [
          slice("a", "web", [{ ip: "10.0.1.1", pod: "p1" }]),
          slice("a", "web", [{ ip: "10.0.1.2", pod: "p2" }], "b"),
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080), key("tcp", 9090)]);
  });

  test("a ready pod without the named port is a problem naming the pod", () => {
    const svc = service("a", "web", {
      ports: [{ name: "http", port: 80, targetPort: "web", nodePort: 30080 }],
    });
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", annotations: IP })],
        services: [svc],
        pods: [pod("a", "p1", "10.0.1.1", [{ name: "metrics", containerPort: 9100 }])],
        endpointSlices: [slice("a", "web", [{ ip: "10.0.1.1", pod: "p1" }])],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Ingress a/web: Service a/web targetPort is "web"; expected a container port named web on every ready pod; Pod a/p1 has none',
      ],
    );
  });

  test("instance mode without a nodePort is a problem", () => {
    const svc = service("a", "web", {
      type: "ClusterIP",
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    });
    const plan = planRules(
      cluster({ ingresses: [ingress("a", "web", { className: "alb" })], services: [svc] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        "Ingress a/web: Service a/web port http nodePort is unset; expected a nodePort: instance targets need a Service of type NodePort or LoadBalancer",
      ],
    );
  });

  test("a missing backend Service is a problem", () => {
    const plan = planRules(
      cluster({ ingresses: [ingress("a", "web", { className: "alb" })] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      ['Ingress a/web: backend service is "web"; expected an existing Service in namespace a'],
    );
  });

  test("a backend port by name resolves through the Service's ports", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", backends: [{ service: "web", port: "http" }] })],
        services: [service("a", "web")],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 30080)]);
  });

  test("a backend port the Service does not have is a problem listing the valid ones", () => {
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", backends: [{ service: "web", port: 81 }] })],
        services: [service("a", "web")],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      ['Ingress a/web: backend service web port is "81"; expected one of [80/http]'],
    );
  });

  const hcCases: Array<[string, string, string[]]> = [
    ["traffic-port adds nothing", "traffic-port", [key("tcp", 30080)]],
    ["a number adds a TCP rule", "10256", [key("tcp", 10256), key("tcp", 30080)]],
    [
      "a port name in instance mode uses that port's nodePort",
      "admin",
      [key("tcp", 30080), key("tcp", 30081)],
    ],
  ];
  for (const [name, hc, want] of hcCases) {
    test(`health-check port ${name}`, () => {
      const svc = service("a", "web", {
        ports: [
          { name: "http", port: 80, targetPort: 8080, nodePort: 30080 },
          { name: "admin", port: 81, targetPort: 8081, nodePort: 30081 },
        ],
      });
      const plan = planRules(
        cluster({
          ingresses: [
            ingress("a", "web", {
              className: "alb",
              annotations: { "alb.ingress.kubernetes.io/healthcheck-port": hc },
            }),
          ],
          services: [svc],
        }),
        ec2(),
        opts(),
      );
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(Object.keys(plan.rules), want);
    });
  }

  test("health-check port name in ip mode uses its numeric targetPort", () => {
    const svc = service("a", "web", {
      annotations: { "alb.ingress.kubernetes.io/healthcheck-port": "admin", ...IP },
      ports: [
        { name: "http", port: 80, targetPort: 8080, nodePort: 30080 },
        { name: "admin", port: 81, targetPort: 8081, nodePort: 30081 },
      ],
    });
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb" })],
        services: [svc],
        pods: [pod("a", "p1", "10.0.1.1")],
        endpointSlices: [slice("a", "web", [{ ip: "10.0.1.1", pod: "p1" }])],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080), key("tcp", 8081)]);
  });

  test("an unknown health-check port name is a problem", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("a", "web", {
            className: "alb",
            annotations: { "alb.ingress.kubernetes.io/healthcheck-port": "nope" },
          }),
        ],
        services: [service("a", "web")],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Ingress a/web: annotation alb.ingress.kubernetes.io/healthcheck-port is "nope"; expected traffic-port, a port number or one of the Service\'s port names [http]',
      ],
    );
  });

  test("an invalid target-type is a problem", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("a", "web", {
            className: "alb",
            annotations: { "alb.ingress.kubernetes.io/target-type": "lambda" },
          }),
        ],
        services: [service("a", "web")],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      [
        'Ingress a/web: annotation alb.ingress.kubernetes.io/target-type is "lambda"; expected instance or ip',
      ],
    );
  });

  test("forward action to a Service counts; forward to a target group ARN adds nothing", () => {
    const actions = {
      "alb.ingress.kubernetes.io/actions.split": JSON.stringify({
        type: "forward",
        forwardConfig: {
          targetGroups: [
            { serviceName: "web", servicePort: "80", weight: 50 },
            { targetGroupARN: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/y", weight: 50 },
          ],
        },
      }),
      "alb.ingress.kubernetes.io/actions.arn": JSON.stringify({
        type: "forward",
        targetGroupARN: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/y",
      }),
    };
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("a", "web", {
            className: "alb",
            annotations: actions,
            backends: [
              { service: "split", port: "use-annotation" },
              { service: "arn", port: "use-annotation" },
            ],
          }),
        ],
        services: [service("a", "web")],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 30080)]);
  });

  test("a use-annotation backend without its action is a problem", () => {
    const plan = planRules(
      cluster({
        ingresses: [
          ingress("a", "web", { className: "alb", backends: [{ service: "x", port: "use-annotation" }] }),
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.field),
      ["annotation alb.ingress.kubernetes.io/actions.x"],
    );
  });

  test("IngressClassParams targetType beats the annotations", () => {
    const cls = {
      kind: "IngressClass" as const,
      metadata: { name: "alb" },
      spec: { controller: "ingress.k8s.aws/alb", parameters: { kind: "IngressClassParams", name: "p" } },
    };
    const plan = planRules(
      cluster({
        ingresses: [ingress("a", "web", { className: "alb", annotations: IP })],
        services: [service("a", "web")],
        ingressClasses: [cls],
        ingressClassParams: [
          { kind: "IngressClassParams", metadata: { name: "p" }, spec: { targetType: "instance" } },
        ],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 30080)]);
  });
});

describe("NLB ports", () => {
  const cases: Array<{ name: string; svc: ReturnType<typeof service>; want: string[] }> = [
    { name: "TCP instance: the nodePort", svc: nlb("a", "x"), want: [key("tcp", 30080)] },
    {
      name: "UDP with traffic-port health check: UDP plus TCP on the traffic port",
      svc: nlb("a", "x", {
        ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 53, nodePort: 30053 }],
      }),
      want: [key("tcp", 30053), key("udp", 30053)],
    },
    {
      name: "UDP with a separate numeric health check: UDP plus TCP on the health-check port only",
      svc: nlb("a", "x", {
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "31000" },
        ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 53, nodePort: 30053 }],
      }),
      want: [key("tcp", 31000), key("udp", 30053)],
    },
    {
      name: "externalTrafficPolicy Local in instance mode adds healthCheckNodePort",
      svc: nlb("a", "x", { externalTrafficPolicy: "Local", healthCheckNodePort: 32000 }),
      want: [key("tcp", 30080), key("tcp", 32000)],
    },
    {
      name: "externalTrafficPolicy Local with an explicit traffic-port health check adds nothing",
      svc: nlb("a", "x", {
        externalTrafficPolicy: "Local",
        healthCheckNodePort: 32000,
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "traffic-port" },
      }),
      want: [key("tcp", 30080)],
    },
    {
      name: "TCP and UDP on the same port: both protocols",
      svc: nlb("a", "x", {
        ports: [
          { name: "t", protocol: "TCP", port: 53, targetPort: 53, nodePort: 30053 },
          { name: "u", protocol: "UDP", port: 53, targetPort: 53, nodePort: 30054 },
        ],
      }),
      want: [key("tcp", 30053), key("tcp", 30054), key("udp", 30054)],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planRules(cluster({ services: [c.svc] }), ec2(), opts());
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(Object.keys(plan.rules), c.want);
    });
  }

  test("nlb-target-type ip uses targetPort on pods", () => {
    const svc = nlb("a", "x", {
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" },
    });
    const plan = planRules(
      cluster({ services: [svc], endpointSlices: [slice("a", "x", [{ ip: "10.0.1.3" }])] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080)]);
  });

  test("default target type ip applies when no annotation says otherwise", () => {
    const plan = planRules(
      cluster({ services: [nlb("a", "x")], endpointSlices: [slice("a", "x", [{ ip: "10.0.1.3" }])] }),
      ec2(),
      opts({ defaultTargetType: "ip" }),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080)]);
  });

  test("SCTP is a problem naming the port", () => {
    const plan = planRules(
      cluster({
        services: [nlb("a", "x", { ports: [{ name: "s", protocol: "SCTP", port: 9, nodePort: 30009 }] })],
      }),
      ec2(),
      opts(),
    );
    assert.deepEqual(
      plan.problems.map((p) => p.message),
      ['Service a/x: spec.ports[s].protocol is "SCTP"; expected TCP or UDP'],
    );
  });

  test("a named health-check port for ip targets with a named targetPort is a problem (as in the LBC)", () => {
    const svc = nlb("a", "x", {
      annotations: {
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "http",
      },
      ports: [{ name: "http", port: 80, targetPort: "web" }],
    });
    const plan = planRules(cluster({ services: [svc] }), ec2(), opts());
    assert.equal(plan.problems.length, 1);
    assert.equal(
      plan.problems[0]?.field,
      "annotation service.beta.kubernetes.io/aws-load-balancer-healthcheck-port",
    );
  });
  test("externalTrafficPolicy Local on an ip-mode NLB adds no healthCheckNodePort", () => {
    const svc = nlb("a", "x", {
      externalTrafficPolicy: "Local",
      healthCheckNodePort: 32000,
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip" },
    });
    const plan = planRules(
      cluster({ services: [svc], endpointSlices: [slice("a", "x", [{ ip: "10.0.1.3" }])] }),
      ec2(),
      opts(),
    );
    assert.deepEqual(Object.keys(plan.rules), [key("tcp", 8080)]);
  });

  test("a numeric health-check port equal to the traffic port adds nothing", () => {
    const svc = nlb("a", "x", {
      annotations: { "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "30080" },
    });
    assert.deepEqual(Object.keys(planRules(cluster({ services: [svc] }), ec2(), opts()).rules), [
      key("tcp", 30080),
    ]);
  });
});
