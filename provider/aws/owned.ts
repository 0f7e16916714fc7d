import { OWNER_TAG_KEY } from "../domain/model";
import type { Ec2Client } from "./client";
import { CountingEc2 } from "./client";
import type { CallCounts } from "./types";

/**
 * Security groups that hold rules tagged with our owner id, wherever they are: a destination can stop being
 * one (its nodes went away) and its rules must still be found to be revoked. One filtered, paginated call.
 */
export async function findOwnedRuleGroups(
  client: Ec2Client,
  ownerId: string,
): Promise<{ groupIds: string[]; calls: CallCounts }> {
  const ec2 = new CountingEc2(client);
  const groups = new Set<string>();
  let token: string | undefined;
  do {
    const page = await ec2.call("DescribeSecurityGroupRules", {
      Filters: [{ Name: `tag:${OWNER_TAG_KEY}`, Values: [ownerId] }],
      MaxResults: 1000,
      ...(token ? { NextToken: token } : {}),
    });
    for (const r of page.SecurityGroupRules ?? []) if (r.GroupId && !r.IsEgress) groups.add(r.GroupId);
    token = page.NextToken || undefined;
  } while (token);
  return { groupIds: [...groups].sort(), calls: ec2.calls };
}
