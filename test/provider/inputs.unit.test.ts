// Input validation: every problem with its property path, all at once, and never the kubeconfig's contents.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { containsUnknown, toPlanOptions, UNKNOWN, validateInputs } from "../../provider/inputs";

const valid = { cluster: { name: "prod", kubeconfig: "apiVersion: v1" }, ownerId: "proj/stack/rules" };

describe("validateInputs", () => {
  test("a minimal valid input has no failures", () => {
    assert.deepEqual(validateInputs(valid), []);
  });

  const cases: Array<[string, Record<string, unknown>, Array<{ property: string; reason: string }>]> = [
    [
      "unknown port mode",
      { portMode: "tight" },
      [{ property: "portMode", reason: 'portMode is "tight"; expected one of minimal, range, all' }],
    ],
    [
      "malformed backend SG id",
      { backendSecurityGroupId: "sg-xyz" },
      [
        {
          property: "backendSecurityGroupId",
          reason:
            'backendSecurityGroupId is "sg-xyz"; expected a security group id such as sg-0123456789abcdef0',
        },
      ],
    ],
    [
      "a flag that is not a boolean",
      { manageBackendSecurityGroupRules: "yes" },
      [
        {
          property: "manageBackendSecurityGroupRules",
          reason: 'manageBackendSecurityGroupRules is "yes"; expected true or false',
        },
      ],
    ],
    [
      "duplicate namespaces in a policy list",
      { namespaces: { include: ["a", "a"] } },
      [
        {
          property: "namespaces.include[1]",
          reason: 'namespaces.include[1] is "a"; expected each namespace once in namespaces.include',
        },
      ],
    ],
    [
      "a namespace in both lists",
      { namespaces: { include: ["a"], exclude: ["a"] } },
      [
        {
          property: "namespaces.exclude",
          reason:
            'namespace "a" is in both namespaces.include and namespaces.exclude; expected it in one list only',
        },
      ],
    ],
    [
      "an override that is not a boolean",
      { namespaces: { overrides: { team: "off" } } },
      [
        {
          property: "namespaces.overrides.team",
          reason: 'namespaces.overrides.team is "off"; expected true or false',
        },
      ],
    ],
    [
      "a rule quota out of range",
      { ruleQuota: 0 },
      [
        {
          property: "ruleQuota",
          reason:
            "ruleQuota is 0; expected a whole number from 1 to 1000 (EC2's rules-per-security-group quota, default 60)",
        },
      ],
    ],
    [
      "a duplicate target SG",
      { targetSecurityGroupIds: ["sg-0123456789abcdef0", "sg-0123456789abcdef0"] },
      [
        {
          property: "targetSecurityGroupIds[1]",
          reason: 'targetSecurityGroupIds[1] is "sg-0123456789abcdef0"; expected each security group once',
        },
      ],
    ],
    [
      "a region that is not one",
      { region: "Mars" },
      [{ property: "region", reason: 'region is "Mars"; expected an AWS region such as us-east-1' }],
    ],
  ];
  for (const [name, over, expected] of cases) {
    test(`${name} is reported with its property path`, () => {
      assert.deepEqual(validateInputs({ ...valid, ...over }), expected);
    });
  }

  test("every problem is reported together", () => {
    const failures = validateInputs({ ...valid, portMode: "x", defaultTargetType: "pod", vpcId: "vpc-1" });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["vpcId", "portMode", "defaultTargetType"],
    );
  });

  test("a kubeconfig of the wrong type is named, never echoed", () => {
    const failures = validateInputs({ ...valid, cluster: { name: "prod", kubeconfig: 12345 } });
    assert.deepEqual(failures, [
      {
        property: "cluster.kubeconfig",
        reason: "cluster.kubeconfig is not a string; expected kubeconfig YAML",
      },
    ]);
  });

  test("values not known yet during preview are not judged", () => {
    assert.deepEqual(
      validateInputs({ ...valid, cluster: { name: UNKNOWN, kubeconfig: UNKNOWN }, portMode: UNKNOWN }),
      [],
    );
    assert.equal(containsUnknown({ a: [{ b: UNKNOWN }] }), true);
    assert.equal(containsUnknown({ a: [{ b: "x" }] }), false);
  });
});

describe("toPlanOptions", () => {
  test("defaults: flag false, minimal ports, alb, the LBC's NLB class, instance targets, no adoption", () => {
    const o = toPlanOptions({ cluster: { name: "prod" }, ownerId: "o" });
    assert.deepEqual(o, {
      clusterName: "prod",
      ownerId: "o",
      manageBackendSecurityGroupRules: false,
      portMode: "minimal",
      namespaces: {},
      ingressClass: "alb",
      loadBalancerClass: "service.k8s.aws/nlb",
      defaultTargetType: "instance",
      adoptExistingRules: false,
    });
  });
});
