// Pure helpers of the EC2 adapter: exact tables plus properties; no moto, no network.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { awsErrorCode, describeAwsError } from "../../provider/aws/client";
import {
  buildIpPermissions,
  checkRuleChanges,
  chunk,
  groupBy,
  ipv4InCidr,
  listIds,
  mapBounded,
  ruleIdentity,
  toExistingRule,
  uniqueSorted,
} from "../../provider/aws/rules";
import type { DesiredRule } from "../../provider/aws/types";
import { type ExistingRule, OWNER_TAG_KEY } from "../../provider/domain/model";

const BACKEND = "sg-0backend";

function desired(over: Partial<DesiredRule> = {}): DesiredRule {
  return {
    key: "sg-0dest|tcp|30080-30080|sg-0backend",
    securityGroupId: "sg-0dest",
    protocol: "tcp",
    fromPort: 30080,
    toPort: 30080,
    sourceSecurityGroupId: BACKEND,
    ports: [30080],
    neededBy: ["Service default/web"],
    state: "authorize",
    ...over,
  };
}

function existing(over: Partial<ExistingRule> = {}): ExistingRule {
  return {
    ruleId: "sgr-0001",
    groupId: "sg-0dest",
    protocol: "tcp",
    fromPort: 30080,
    toPort: 30080,
    sourceSecurityGroupId: BACKEND,
    tags: { [OWNER_TAG_KEY]: "me" },
    ...over,
  };
}

describe("chunk", () => {
  it("splits into consecutive pieces of at most the size", () => {
    assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(chunk([], 200), []);
    assert.deepEqual(chunk([1, 2], 200), [[1, 2]]);
  });

  it("rejects a size below 1", () => {
    assert.throws(() => chunk([1], 0), {
      name: "RangeError",
      message: "chunk size must be a positive integer, got 0",
    });
  });

  it("property: pieces concatenate back to the input, all full but the last", () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 50 }), (items, size) => {
        const pieces = chunk(items, size);
        assert.deepEqual(pieces.flat(), items);
        assert.equal(pieces.length, Math.ceil(items.length / size));
        for (const piece of pieces.slice(0, -1)) assert.equal(piece.length, size);
      }),
    );
  });
});

describe("uniqueSorted and listIds", () => {
  it("drops duplicates and empty strings, sorts", () => {
    assert.deepEqual(uniqueSorted(["i-b", "", "i-a", "i-b"]), ["i-a", "i-b"]);
  });

  it("names at most five ids, then counts the rest", () => {
    assert.equal(listIds(["a", "b"]), "a, b");
    assert.equal(listIds(["a", "b", "c", "d", "e", "f", "g"]), "a, b, c, d, e and 2 more");
  });
});

describe("toExistingRule", () => {
  it("maps an ingress rule from a security group, with its tags as a record", () => {
    assert.deepEqual(
      toExistingRule({
        SecurityGroupRuleId: "sgr-1",
        GroupId: "sg-0dest",
        IsEgress: false,
        IpProtocol: "tcp",
        FromPort: 30080,
        ToPort: 30090,
        ReferencedGroupInfo: { GroupId: BACKEND, UserId: "123456789012" },
        Description: "lbc-backend-sg owner=me",
        Tags: [
          { Key: OWNER_TAG_KEY, Value: "me" },
          { Key: "team", Value: "" },
        ],
      }),
      {
        ruleId: "sgr-1",
        groupId: "sg-0dest",
        protocol: "tcp",
        fromPort: 30080,
        toPort: 30090,
        sourceSecurityGroupId: BACKEND,
        description: "lbc-backend-sg owner=me",
        tags: { [OWNER_TAG_KEY]: "me", team: "" },
      },
    );
  });

  it("keeps CIDR and prefix-list sources, and all-protocol rules as -1/-1", () => {
    assert.deepEqual(
      toExistingRule({
        SecurityGroupRuleId: "sgr-2",
        GroupId: "sg-1",
        IsEgress: false,
        IpProtocol: "-1",
        CidrIpv4: "10.0.0.0/8",
      }),
      {
        ruleId: "sgr-2",
        groupId: "sg-1",
        protocol: "-1",
        fromPort: -1,
        toPort: -1,
        cidr: "10.0.0.0/8",
        tags: {},
      },
    );
    assert.deepEqual(
      toExistingRule({
        SecurityGroupRuleId: "sgr-3",
        GroupId: "sg-1",
        IsEgress: false,
        IpProtocol: "UDP",
        FromPort: 53,
        ToPort: 53,
        PrefixListId: "pl-1",
        Description: "",
      }),
      {
        ruleId: "sgr-3",
        groupId: "sg-1",
        protocol: "udp",
        fromPort: 53,
        toPort: 53,
        prefixListId: "pl-1",
        tags: {},
      },
    );
  });

  it("drops egress rules and rules without ids", () => {
    assert.equal(
      toExistingRule({ SecurityGroupRuleId: "sgr-4", GroupId: "sg-1", IsEgress: true }),
      undefined,
    );
    assert.equal(toExistingRule({ GroupId: "sg-1", IsEgress: false }), undefined);
    // A rule EC2 returned without IsEgress cannot be classified: not ours to touch.
    assert.equal(toExistingRule({ SecurityGroupRuleId: "sgr-5", GroupId: "sg-1" }), undefined);
  });
});

describe("ruleIdentity", () => {
  it("is protocol, ports and source; never the description or tags", () => {
    assert.equal(ruleIdentity(existing()), "tcp|30080-30080|sg-0backend");
    assert.equal(ruleIdentity(existing({ description: "x", tags: {} })), ruleIdentity(desired()));
    assert.notEqual(ruleIdentity(existing({ protocol: "udp" })), ruleIdentity(desired()));
    assert.notEqual(ruleIdentity(existing({ toPort: 30081 })), ruleIdentity(desired()));
  });

  it("a CIDR rule never matches a security-group rule", () => {
    const { sourceSecurityGroupId: _, ...rest } = existing();
    assert.notEqual(ruleIdentity({ ...rest, cidr: "10.0.0.0/8" }), ruleIdentity(desired()));
  });
});

describe("groupBy", () => {
  it("keeps item order within a group and sorts the groups", () => {
    const groups = groupBy(["sg-b:1", "sg-a:1", "sg-b:2"], (s) => s.split(":")[0] ?? "");
    assert.deepEqual(
      [...groups],
      [
        ["sg-a", ["sg-a:1"]],
        ["sg-b", ["sg-b:1", "sg-b:2"]],
      ],
    );
  });
});

describe("buildIpPermissions", () => {
  it("one permission per rule, one source each: the backend SG with our description", () => {
    assert.deepEqual(
      buildIpPermissions(
        [desired(), desired({ protocol: "udp", fromPort: 1000, toPort: 2000 })],
        "lbc-backend-sg owner=me",
      ),
      [
        {
          IpProtocol: "tcp",
          FromPort: 30080,
          ToPort: 30080,
          UserIdGroupPairs: [{ GroupId: BACKEND, Description: "lbc-backend-sg owner=me" }],
        },
        {
          IpProtocol: "udp",
          FromPort: 1000,
          ToPort: 2000,
          UserIdGroupPairs: [{ GroupId: BACKEND, Description: "lbc-backend-sg owner=me" }],
        },
      ],
    );
  });
});

describe("checkRuleChanges", () => {
  const base = { toAuthorize: [], toRevoke: [], toAdopt: [], ownerId: "me" };

  it("accepts our rules", () => {
    assert.deepEqual(
      checkRuleChanges({
        ...base,
        toAuthorize: [desired()],
        toRevoke: [existing()],
        toAdopt: [{ rule: desired(), existing: existing({ tags: {} }) }],
      }),
      [],
    );
  });

  it("refuses to revoke a rule without our tag or with another owner's", () => {
    assert.deepEqual(
      checkRuleChanges({
        ...base,
        toRevoke: [
          existing({ ruleId: "sgr-a", tags: {} }),
          existing({ ruleId: "sgr-b", tags: { [OWNER_TAG_KEY]: "them" } }),
        ],
      }),
      [
        `refusing to revoke sgr-a on sg-0dest: it does not carry tag ${OWNER_TAG_KEY}=me (it has no owner tag)`,
        `refusing to revoke sgr-b on sg-0dest: it does not carry tag ${OWNER_TAG_KEY}=me (its owner is them)`,
      ],
    );
  });

  it("refuses a CIDR-like source and bad ports (Invariant 7)", () => {
    assert.deepEqual(
      checkRuleChanges({
        ...base,
        toAuthorize: [
          desired({ key: "k1", sourceSecurityGroupId: "0.0.0.0/0" }),
          desired({ key: "k2", fromPort: 10, toPort: 9 }),
        ],
      }),
      [
        'rule k1: source "0.0.0.0/0" is not a security group id (sg-…)',
        "rule k2: ports 10-9; expected 0 <= from <= to <= 65535",
      ],
    );
  });

  it("refuses to adopt another owner's rule or a rule that is not identical", () => {
    assert.deepEqual(
      checkRuleChanges({
        ...base,
        toAdopt: [
          { rule: desired(), existing: existing({ ruleId: "sgr-x", tags: { [OWNER_TAG_KEY]: "them" } }) },
          { rule: desired(), existing: existing({ ruleId: "sgr-y", tags: {}, fromPort: 1, toPort: 1 }) },
        ],
      }),
      [
        "refusing to adopt sgr-x on sg-0dest for sg-0dest|tcp|30080-30080|sg-0backend: it is owned by them",
        "refusing to adopt sgr-y for sg-0dest|tcp|30080-30080|sg-0backend: it is sg-0dest tcp|1-1|sg-0backend, not sg-0dest tcp|30080-30080|sg-0backend",
      ],
    );
  });

  it("refuses a description EC2 would reject, naming what is valid", () => {
    assert.deepEqual(checkRuleChanges({ ...base, description: "lbc-backend-sg owner=proj/stack/name" }), []);
    assert.deepEqual(checkRuleChanges({ ...base, description: "owner=ü" }), [
      'description "owner=ü" is not a valid rule description; expected at most 255 of a-z A-Z 0-9 . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * and space',
    ]);
    assert.equal(checkRuleChanges({ ...base, description: "x".repeat(256) }).length, 1);
  });

  it("refuses the same rule twice in one change set", () => {
    assert.deepEqual(checkRuleChanges({ ...base, toAuthorize: [desired(), desired({ key: "again" })] }), [
      "rule again: sg-0dest tcp|30080-30080|sg-0backend is asked for twice",
    ]);
  });

  it("refuses an empty owner id", () => {
    assert.deepEqual(checkRuleChanges({ ...base, ownerId: "" }), [
      "ownerId is empty; every rule we create or revoke is marked by it",
    ]);
  });
});

describe("ipv4InCidr", () => {
  it("matches addresses inside the block only", () => {
    const table: Array<[string, string, boolean]> = [
      ["10.0.1.16", "10.0.1.16/28", true],
      ["10.0.1.31", "10.0.1.16/28", true],
      ["10.0.1.32", "10.0.1.16/28", false],
      ["10.0.1.15", "10.0.1.16/28", false],
      ["10.9.9.9", "0.0.0.0/0", true],
      ["10.0.1.5", "10.0.1.5/32", true],
      ["10.0.1.6", "10.0.1.5/32", false],
      ["10.0.1.300", "10.0.1.0/24", false],
      ["fd00::1", "10.0.1.0/24", false],
      ["10.0.1.1", "10.0.1.0/33", false],
    ];
    for (const [ip, cidr, expected] of table)
      assert.equal(ipv4InCidr(ip, cidr), expected, `${ip} in ${cidr}`);
  });
});

describe("mapBounded", () => {
  it("never runs more than the limit at once and keeps the order of results", async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 * (8 - n)));
      running--;
      return n * 10;
    });
    assert.equal(peak, 3);
    assert.deepEqual(
      results.map((r) => (r?.status === "fulfilled" ? r.value : r)),
      [10, 20, 30, 40, 50, 60, 70],
    );
  });

  it("starts nothing new after a failure, lets the ones in flight finish", async () => {
    const started: number[] = [];
    const results = await mapBounded([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error("boom");
      await new Promise((r) => setTimeout(r, 10));
      return n;
    });
    assert.deepEqual(started, [1, 2]);
    assert.equal(results[0]?.status, "rejected");
    assert.deepEqual(results[1], { status: "fulfilled", value: 2 });
    assert.deepEqual(results.slice(2), [undefined, undefined]);
  });
});

describe("awsErrorCode", () => {
  const serviceError = (name: string, message: string) =>
    Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 400 } });

  it("reads the code of SDK service exceptions and Code fields, never a plain error's name", () => {
    assert.equal(awsErrorCode(serviceError("InvalidGroup.NotFound", "gone")), "InvalidGroup.NotFound");
    assert.equal(awsErrorCode({ Code: "RequestLimitExceeded" }), "RequestLimitExceeded");
    assert.equal(awsErrorCode(new TypeError("x")), undefined);
    assert.equal(awsErrorCode("InvalidGroup.NotFound"), undefined);
    assert.equal(awsErrorCode(null), undefined);
  });

  it("describes an error as code and message", () => {
    assert.equal(
      describeAwsError(serviceError("InvalidGroup.NotFound", "The security group 'sg-1' does not exist")),
      "InvalidGroup.NotFound: The security group 'sg-1' does not exist",
    );
    assert.equal(describeAwsError(serviceError("UnknownError", "UnknownError")), "UnknownError");
    assert.equal(describeAwsError(new Error("socket hang up")), "socket hang up");
  });
});
