// Shapes shared by the EC2 reader and applier.
//

import type { Ec2Snapshot, ExistingRule } from "../domain/model";

import type { DesiredRule, Ec2Needs } from "../domain/plan";

export type { DesiredRule, Ec2Needs };

/** EC2 actions we call, counted per action name (logical requests; the SDK's own retries are not counted). */
export type CallCounts = Record<string, number>;

export interface Ec2ReadRequest {
  needs: Ec2Needs;
  clusterName: string;
  ownerId: string;
  backendSecurityGroupId?: string;
  vpcId?: string;
  /** explicit destination SGs: they replace ENI discovery as destinations */
  targetSecurityGroupIds?: string[];
  /** SGs where our state says we have rules: read them too so obsolete rules can be revoked */
  ownedSecurityGroupIds?: string[];
  ruleQuota?: number;
}

export interface Ec2ReadResult {
  snapshot: Ec2Snapshot;
  /** tags of the node instances described, by instance id (to verify the kubeconfig's cluster) */
  instanceTags: Record<string, Record<string, string>>;
  calls: CallCounts;
}

export interface RuleChanges {
  toAuthorize: DesiredRule[];
  toRevoke: ExistingRule[];
  toAdopt: Array<{ rule: DesiredRule; existing: ExistingRule }>;
  ownerId: string;
  /** description put on every rule we create (our marker, e.g. DESCRIPTION_PREFIX + ownerId) */
  description: string;
}

export interface AppliedRule {
  key: string;
  ruleId: string;
}

export interface ApplyResult {
  authorized: AppliedRule[];
  /** keys satisfied by someone else's identical rule */
  duplicates: string[];
  /** sgr- ids revoked */
  revoked: string[];
  /** sgr- ids that were already gone (rule or security group deleted out of band) */
  alreadyGone: string[];
  adopted: AppliedRule[];
  calls: CallCounts;
}
