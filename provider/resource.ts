import * as pulumi from "@pulumi/pulumi";
import type { PortMode, TargetType } from "./domain/model";
import type { BackendSecurityGroupRulesOutputs, RuleCounts, RuleState } from "./inputs";

export interface ClusterArgs {
  /** the EKS cluster name (tags kubernetes.io/cluster/<name>, elbv2.k8s.aws/cluster=<name>) */
  name: pulumi.Input<string>;
  /** kubeconfig contents; made secret here whatever you pass. Absent: the provider process's default kubeconfig */
  kubeconfig?: pulumi.Input<string>;
  /** kubeconfig context; default: its current-context */
  context?: pulumi.Input<string>;
}

export interface NamespacePolicyArgs {
  include?: pulumi.Input<pulumi.Input<string>[]>;
  exclude?: pulumi.Input<pulumi.Input<string>[]>;
  overrides?: pulumi.Input<Record<string, pulumi.Input<boolean>>>;
}

export interface BackendSecurityGroupRulesArgs {
  /** The LBC's --enable-manage-backend-security-group-rules: default for objects with explicit frontend SGs. Default false. */
  manageBackendSecurityGroupRules?: pulumi.Input<boolean>;
  cluster: pulumi.Input<ClusterArgs>;
  /** default: the provider's aws:region config, then AWS_REGION */
  region?: pulumi.Input<string>;
  /** the shared backend SG; default: found by its LBC tags */
  backendSecurityGroupId?: pulumi.Input<string>;
  vpcId?: pulumi.Input<string>;
  /** explicit destination SGs: every target's rules go to these instead of the ENIs' SGs */
  targetSecurityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** extra tags an ENI's SG must carry to be chosen when an ENI has several (the LBC's ENI SG tag filter) */
  extraEniSecurityGroupTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** minimal (default) | range (the LBC's default) | all (the LBC's --disable-restricted-sg-rules) */
  portMode?: pulumi.Input<PortMode>;
  namespaces?: pulumi.Input<NamespacePolicyArgs>;
  /** default alb */
  ingressClass?: pulumi.Input<string>;
  /** default service.k8s.aws/nlb */
  loadBalancerClass?: pulumi.Input<string>;
  /** default instance */
  defaultTargetType?: pulumi.Input<TargetType>;
  /** the owner tag value on our rules; default <project>/<stack>/<resource name> */
  ownerId?: pulumi.Input<string>;
  /** take over (tag) identical existing rules that no lbc-backend-sg stack owns; default false */
  adoptExistingRules?: pulumi.Input<boolean>;
  /** rules-per-SG quota used by the minimal port mode's budget; default 60 */
  ruleQuota?: pulumi.Input<number>;
  /** largest share of our rules one update may revoke without confirmMassRevoke; default 0.5 */
  maxRevokeFraction?: pulumi.Input<number>;
  confirmMassRevoke?: pulumi.Input<boolean>;
}

// The serialized provider is a stable shim: it loads the implementation by package name in the provider process,
// so upgrading the package or moving the project does not change `__provider` (which would force a replacement).
const shim: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    return require("pulumi-lbc-backend-sg/provider").provider.configure(req);
  },
  async check(olds, news) {
    return require("pulumi-lbc-backend-sg/provider").provider.check(olds, news);
  },
  async diff(id, olds, news) {
    return require("pulumi-lbc-backend-sg/provider").provider.diff(id, olds, news);
  },
  async create(inputs) {
    return require("pulumi-lbc-backend-sg/provider").provider.create(inputs);
  },
  async read(id, props) {
    return require("pulumi-lbc-backend-sg/provider").provider.read(id, props);
  },
  async update(id, olds, news) {
    return require("pulumi-lbc-backend-sg/provider").provider.update(id, olds, news);
  },
  async delete(id, props) {
    return require("pulumi-lbc-backend-sg/provider").provider.delete(id, props);
  },
};

/**
 * The backend security group rules the AWS Load Balancer Controller would manage for one cluster, computed from
 * its Ingresses and Services at preview time and applied by `pulumi up`.
 */
export class BackendSecurityGroupRules extends pulumi.dynamic.Resource {
  /** rule identity (`<sg>|<proto>|<from>-<to>|<source>`) -> the objects that need it, as planned */
  declare readonly desiredRules: pulumi.Output<Record<string, string>>;
  /** rule identity -> the rule in EC2: its sgr- id, whether we own it, the objects that need it */
  declare readonly rules: pulumi.Output<Record<string, RuleState>>;
  /** object (`Ingress ns/name`) -> why it gets no rules */
  declare readonly skippedObjects: pulumi.Output<Record<string, string>>;
  declare readonly counts: pulumi.Output<RuleCounts>;
  declare readonly ownerId: pulumi.Output<string>;
  declare readonly sourceSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: BackendSecurityGroupRulesArgs, opts?: pulumi.CustomResourceOptions) {
    const cluster = pulumi.output(args.cluster).apply((c) => ({
      name: c.name,
      ...(c.context !== undefined ? { context: c.context } : {}),
    }));
    const kubeconfig = pulumi.output(args.cluster).apply((c) => c.kubeconfig);
    const props: Record<string, pulumi.Input<unknown>> = {
      ...args,
      // the kubeconfig is always a secret in state, whatever the caller passed
      cluster: pulumi.all([cluster, pulumi.secret(kubeconfig)]).apply(([c, k]) => ({
        ...c,
        ...(k !== undefined ? { kubeconfig: k } : {}),
      })),
      ownerId: args.ownerId ?? `${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
      desiredRules: undefined,
      skippedObjects: undefined,
      rules: undefined,
      counts: undefined,
      sourceSecurityGroupId: undefined,
      stateVersion: undefined,
    };
    super(shim, name, props, opts, "lbc-backend-sg", "BackendSecurityGroupRules");
  }
}

export type { BackendSecurityGroupRulesOutputs, RuleCounts, RuleState };
