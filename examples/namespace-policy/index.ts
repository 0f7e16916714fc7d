// One cluster shared by several teams. The platform team decides per namespace:
// - which namespaces this stack looks at at all (include / exclude);
// - the default for objects with their own frontend security groups (overrides of the global flag).
// An object's own manage-backend-security-group-rules annotation still beats both (see README.md).
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules } from "pulumi-lbc-backend-sg";

const config = new pulumi.Config();
const teamNamespaces = config.getObject<string[]>("teamNamespaces") ?? [];

const rules = new BackendSecurityGroupRules("backend-rules", {
  // Global default: objects with explicit frontend SGs get backend rules...
  manageBackendSecurityGroupRules: true,
  cluster: { name: config.require("clusterName"), kubeconfig: config.requireSecret("kubeconfig") },
  region: new pulumi.Config("aws").require("region"),
  namespaces: {
    // Optional allow-list from config (`pulumi config set --path 'teamNamespaces[0]' shop`): when set, only these
    // namespaces are read for rules and every other namespace's objects are reported in skippedObjects.
    ...(teamNamespaces.length > 0 ? { include: teamNamespaces } : {}),
    // Never plan rules here. A namespace in both lists is an input error at preview, never a silent choice.
    exclude: ["kube-system", "sandbox"],
    overrides: {
      // ...except in payments, whose team manages its node rules by hand: off unless an object opts in with
      // alb.ingress.kubernetes.io/manage-backend-security-group-rules: "true".
      payments: false,
      // Explicitly on (same as the global flag): stays on if the global default is ever turned off.
      platform: true,
    },
  },
});

export const ruleCounts = rules.counts;
export const skippedObjects = rules.skippedObjects;
