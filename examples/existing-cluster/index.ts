// BackendSecurityGroupRules alone, for a cluster created elsewhere. Everything comes from `pulumi config`:
//   pulumi config set clusterName prod-eu
//   pulumi config set aws:region eu-west-1
//   pulumi config set --secret kubeconfig "$(kubectl config view --minify --flatten --context prod-eu)"
//   pulumi config set portMode range            # optional: minimal (default) | range | all
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules, type PortMode } from "pulumi-lbc-backend-sg";

const config = new pulumi.Config();
const awsConfig = new pulumi.Config("aws");

const portModes: readonly PortMode[] = ["minimal", "range", "all"];
const portMode = config.get("portMode") ?? "minimal";
if (!portModes.some((m) => m === portMode)) {
  throw new Error(`config portMode is "${portMode}"; expected one of ${portModes.join(", ")}`);
}

const rules = new BackendSecurityGroupRules("backend-rules", {
  manageBackendSecurityGroupRules: config.getBoolean("manageBackendSecurityGroupRules") ?? true,
  cluster: {
    name: config.require("clusterName"),
    // requireSecret keeps it encrypted in the stack's config; the resource stores it as a secret too
    kubeconfig: config.requireSecret("kubeconfig"),
  },
  region: awsConfig.require("region"),
  portMode: portMode as PortMode,
});

export const ruleCounts = rules.counts;
export const backendSecurityGroupId = rules.sourceSecurityGroupId;
export const desiredRules = rules.desiredRules;
export const skippedObjects = rules.skippedObjects;
