import assert from "node:assert/strict";
import { test } from "node:test";
import { planRules } from "../../provider/domain/index.js";
import { cluster, ec2, ingress, opts, service } from "./builders.js";

test("an ALB Ingress in instance mode needs its Service's nodePort on the node SG", () => {
  const plan = planRules(
    cluster({
      ingresses: [ingress("team-a", "web", { className: "alb" })],
      services: [service("team-a", "web")],
    }),
    ec2(),
    opts(),
  );
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(Object.keys(plan.rules), ["sg-node|tcp|30080-30080|sg-backend"]);
  assert.deepEqual(plan.rules["sg-node|tcp|30080-30080|sg-backend"]?.neededBy, ["Ingress team-a/web"]);
});
