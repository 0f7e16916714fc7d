export type { NamespacePolicy, PortMode, TargetType } from "./domain/model";
export {
  BackendSecurityGroupRules,
  type BackendSecurityGroupRulesArgs,
  type BackendSecurityGroupRulesOutputs,
  type ClusterArgs,
  type NamespacePolicyArgs,
  type RuleCounts,
  type RuleState,
} from "./resource";
