// applyRuleChanges against a scripted EC2, for real-EC2 behaviours moto does not reproduce.
// Not proven here: that EC2 behaves as scripted (the scripts follow the EC2 API reference).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import { ApplyError, applyRuleChanges } from "../../provider/aws/apply";
import type { DesiredRule, RuleChanges } from "../../provider/aws/types";
import { type ExistingRule, OWNER_TAG_KEY } from "../../provider/domain/model";
import { ec2Error, fakeEc2, meta } from "./fake-ec2";

const BACKEND = "sg-0backend";
const DEST = "sg-0dest";
const OWNER = "me";

function desired(port: number): DesiredRule {
  return {
    key: `${DEST}|tcp|${port}-${port}|${BACKEND}`,
    securityGroupId: DEST,
    protocol: "tcp",
    fromPort: port,
    toPort: port,
    sourceSecurityGroupId: BACKEND,
    ports: [port],
    neededBy: [],
    state: "authorize",
  };
}

function sgRule(id: string, port: number, tags: Ec2Sdk.Tag[]): Ec2Sdk.SecurityGroupRule {
  return {
    SecurityGroupRuleId: id,
    GroupId: DEST,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: port,
    ToPort: port,
    ReferencedGroupInfo: { GroupId: BACKEND },
    Tags: tags,
  };
}

function owned(id: string, port: number): ExistingRule {
  return {
    ruleId: id,
    groupId: DEST,
    protocol: "tcp",
    fromPort: port,
    toPort: port,
    sourceSecurityGroupId: BACKEND,
    tags: { [OWNER_TAG_KEY]: OWNER },
  };
}

const ours = [{ Key: OWNER_TAG_KEY, Value: OWNER }];

function changes(over: Partial<RuleChanges>): RuleChanges {
  return { toAuthorize: [], toRevoke: [], toAdopt: [], ownerId: OWNER, description: "d", ...over };
}

describe("applyRuleChanges (scripted EC2)", () => {
  it("EC2 rejects the whole batch on a duplicate: re-read, then authorize only the missing rules", async () => {
    const { client, log } = fakeEc2((action, input) => {
      if (action === "AuthorizeSecurityGroupIngress") {
        const perms = (input as Ec2Sdk.AuthorizeSecurityGroupIngressCommandInput).IpPermissions ?? [];
        if (perms.some((p) => p.FromPort === 30000))
          throw ec2Error("InvalidPermission.Duplicate", "the specified rule already exists");
        return { ...meta, Return: true, SecurityGroupRules: [sgRule("sgr-new", 30001, ours)] };
      }
      if (action === "DescribeSecurityGroupRules")
        return { ...meta, SecurityGroupRules: [sgRule("sgr-lbc", 30000, [])] };
      throw new Error(`unexpected ${action}`);
    });
    const result = await applyRuleChanges(client, changes({ toAuthorize: [desired(30000), desired(30001)] }));
    assert.deepEqual(result.authorized, [{ key: desired(30001).key, ruleId: "sgr-new" }]);
    assert.deepEqual(result.duplicates, [desired(30000).key]);
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 2, DescribeSecurityGroupRules: 1 });
    // The second Authorize carried only the missing rule, still with our tag.
    assert.deepEqual(log[2]?.input, {
      GroupId: DEST,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 30001,
          ToPort: 30001,
          UserIdGroupPairs: [{ GroupId: BACKEND, Description: "d" }],
        },
      ],
      TagSpecifications: [{ ResourceType: "security-group-rule", Tags: ours }],
    });
  });

  it("new rules not yet visible to reads: the re-read is retried until they are", async () => {
    let reads = 0;
    const { client } = fakeEc2((action) => {
      if (action === "AuthorizeSecurityGroupIngress")
        return { ...meta, Return: true, SecurityGroupRules: [] };
      if (action === "DescribeSecurityGroupRules") {
        reads++;
        return { ...meta, SecurityGroupRules: reads < 3 ? [] : [sgRule("sgr-1", 30001, ours)] };
      }
      throw new Error(`unexpected ${action}`);
    });
    const result = await applyRuleChanges(client, changes({ toAuthorize: [desired(30001)] }), {
      consistencyDelaysMs: [0, 1, 1, 1],
    });
    assert.deepEqual(result.authorized, [{ key: desired(30001).key, ruleId: "sgr-1" }]);
    assert.deepEqual(result.calls, { AuthorizeSecurityGroupIngress: 1, DescribeSecurityGroupRules: 3 });
  });

  it("ids that never show up: ApplyError that keeps the ids it did learn", async () => {
    const { client } = fakeEc2((action) => {
      if (action === "AuthorizeSecurityGroupIngress")
        return { ...meta, Return: true, SecurityGroupRules: [] };
      return { ...meta, SecurityGroupRules: [sgRule("sgr-1", 30001, ours)] };
    });
    const err = await applyRuleChanges(client, changes({ toAuthorize: [desired(30001), desired(30002)] }), {
      consistencyDelaysMs: [0, 1],
    }).then(
      () => assert.fail("expected an ApplyError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(
      err.message,
      `authorized 2 rules on security group ${DEST} but 1 of them (${desired(30002).key}) were not visible after 2 reads; ` +
        `they carry tag ${OWNER_TAG_KEY}=${OWNER}, so the next refresh finds them`,
    );
    assert.deepEqual(err.partial.authorized, [{ key: desired(30001).key, ruleId: "sgr-1" }]);
  });

  it("EC2's InvalidSecurityGroupRuleId.NotFound on revoke: the gone ones are done, the others revoked", async () => {
    const { client } = fakeEc2((action, input) => {
      if (action === "RevokeSecurityGroupIngress") {
        const ids = (input as Ec2Sdk.RevokeSecurityGroupIngressCommandInput).SecurityGroupRuleIds ?? [];
        if (ids.includes("sgr-gone"))
          throw ec2Error("InvalidSecurityGroupRuleId.NotFound", "sgr-gone does not exist");
        return { ...meta, Return: true };
      }
      return { ...meta, SecurityGroupRules: [sgRule("sgr-here", 30001, ours)] };
    });
    const result = await applyRuleChanges(
      client,
      changes({ toRevoke: [owned("sgr-gone", 30000), owned("sgr-here", 30001)] }),
    );
    assert.deepEqual(result.revoked, ["sgr-here"]);
    assert.deepEqual(result.alreadyGone, ["sgr-gone"]);
    assert.deepEqual(result.calls, { RevokeSecurityGroupIngress: 2, DescribeSecurityGroupRules: 1 });
  });

  it("a rule whose tag was removed since the plan is not revoked", async () => {
    const { client } = fakeEc2((action) => {
      if (action === "RevokeSecurityGroupIngress") throw ec2Error("InvalidPermission.NotFound", "not found");
      return { ...meta, SecurityGroupRules: [sgRule("sgr-here", 30001, [])] };
    });
    const err = await applyRuleChanges(
      client,
      changes({ toRevoke: [owned("sgr-gone", 30000), owned("sgr-here", 30001)] }),
    ).then(
      () => assert.fail("expected an ApplyError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(
      err.message,
      `revoking 2 rules (sgr-gone, sgr-here) from security group ${DEST}: refusing to revoke sgr-here: no longer tagged ${OWNER_TAG_KEY}=${OWNER}`,
    );
    assert.deepEqual(err.partial.revoked, []);
  });

  it("a failed adopt stops before any authorize", async () => {
    const { client, log } = fakeEc2((action) => {
      if (action === "CreateTags") throw ec2Error("InvalidSecurityGroupRuleId.NotFound", "gone");
      throw new Error(`unexpected ${action}`);
    });
    const foreign = { ...owned("sgr-lbc", 30000), tags: {} };
    const err = await applyRuleChanges(
      client,
      changes({ toAdopt: [{ rule: desired(30000), existing: foreign }], toAuthorize: [desired(30001)] }),
    ).then(
      () => assert.fail("expected an ApplyError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(err.message, "adopting 1 rules (sgr-lbc): InvalidSecurityGroupRuleId.NotFound: gone");
    assert.equal(err.code, "InvalidSecurityGroupRuleId.NotFound");
    assert.deepEqual(
      log.map((c) => c.action),
      ["CreateTags"],
    );
  });
});
