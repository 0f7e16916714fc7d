import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules } from "pulumi-lbc-backend-sg";

/**
 * One resource for the whole cluster. The global flag is on: objects that set their own frontend security groups
 * get backend rules unless their annotation says "false"; objects without frontend SGs always get them (as the LBC).
 */
export function program() {
  const config = new pulumi.Config();
  const rules = new BackendSecurityGroupRules("backend-sg", {
    manageBackendSecurityGroupRules: true,
    cluster: {
      name: config.get("clusterName") ?? "demo",
      kubeconfig: config.requireSecret("kubeconfig"),
    },
    portMode: "minimal",
  });
  return {
    rules: rules.rules,
    skipped: rules.skippedObjects,
    counts: rules.counts,
  };
}
