import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  extraPorts,
  isOwnedRule,
  mergeSmallestGaps,
  OWNER_TAG_KEY,
  type PortRange,
  ruleDescription,
  ruleKey,
} from "../../provider/domain/index.js";
import { existing } from "./builders.js";

test("ruleKey spells sg|proto|from-to|source", () => {
  assert.equal(
    ruleKey({
      securityGroupId: "sg-0abc",
      protocol: "tcp",
      fromPort: 30000,
      toPort: 30010,
      sourceSecurityGroupId: "sg-0backend",
    }),
    "sg-0abc|tcp|30000-30010|sg-0backend",
  );
});

test("ruleDescription is the marker plus the owner, with characters EC2 refuses replaced", () => {
  assert.equal(ruleDescription("stack-a"), "lbc-backend-sg owner=stack-a");
  assert.equal(ruleDescription("prod/é'x"), "lbc-backend-sg owner=prod/__x");
  assert.equal(ruleDescription("x".repeat(300)).length, 255);
});

test("ownership is decided by the tag, not the description", () => {
  const tagged = existing({ from: 1 }, { [OWNER_TAG_KEY]: "stack-a" });
  const described = { ...existing({ from: 1 }, {}), description: "lbc-backend-sg owner=stack-a" };
  assert.equal(isOwnedRule(tagged, "stack-a"), true);
  assert.equal(isOwnedRule(tagged, "stack-b"), false);
  assert.equal(isOwnedRule(described, "stack-a"), false);
});

describe("mergeSmallestGaps", () => {
  test("under budget: one rule per exact port", () => {
    assert.deepEqual(mergeSmallestGaps([[80, 443]], 5), [
      [
        { from: 80, to: 80 },
        { from: 443, to: 443 },
      ],
    ]);
  });
  test("over budget by one: the smallest gap is merged (consecutive ports cost nothing)", () => {
    assert.deepEqual(mergeSmallestGaps([[1, 2, 10]], 2), [
      [
        { from: 1, to: 2 },
        { from: 10, to: 10 },
      ],
    ]);
  });
  test("gaps are compared across buckets on the same SG", () => {
    // tcp gap 100, udp gap 5: the udp gap goes first.
    assert.deepEqual(
      mergeSmallestGaps(
        [
          [100, 201],
          [50, 56],
        ],
        3,
      ),
      [
        [
          { from: 100, to: 100 },
          { from: 201, to: 201 },
        ],
        [{ from: 50, to: 56 }],
      ],
    );
  });
  test("budget equal to the number of buckets: one range per bucket", () => {
    assert.deepEqual(mergeSmallestGaps([[1, 5, 9], [7]], 2), [[{ from: 1, to: 9 }], [{ from: 7, to: 7 }]]);
  });
  test("fewer slots than buckets cannot fit", () => {
    assert.equal(mergeSmallestGaps([[1], [2]], 1), undefined);
  });
});

/** Every way to cut each bucket into contiguous runs within the budget; the fewest extra ports. */
function bruteForceMinExtra(buckets: number[][], budget: number): number | undefined {
  let best: number | undefined;
  const rec = (b: number, used: number, extra: number): void => {
    if (used > budget) return;
    if (b === buckets.length) {
      if (best === undefined || extra < best) best = extra;
      return;
    }
    const ports = buckets[b]!;
    const gaps = ports.length - 1;
    for (let mask = 0; mask < 1 << Math.max(0, gaps); mask++) {
      let rulesHere = ports.length;
      let extraHere = 0;
      for (let g = 0; g < gaps; g++) {
        if (mask & (1 << g)) {
          rulesHere--;
          extraHere += ports[g + 1]! - ports[g]! - 1;
        }
      }
      rec(b + 1, used + rulesHere, extra + extraHere);
    }
  };
  rec(0, 0, 0);
  return best;
}

const bucketArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 })
  .map((a) => a.sort((x, y) => x - y));

test("property: merging the smallest gaps opens no more ports than any other fit (brute force)", () => {
  fc.assert(
    fc.property(
      fc.array(bucketArb, { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 14 }),
      (buckets, budget) => {
        const got = mergeSmallestGaps(buckets, budget);
        const best = bruteForceMinExtra(buckets, budget);
        if (best === undefined) return got === undefined;
        if (got === undefined) return false;
        const rules = got.reduce((n, r) => n + r.length, 0);
        const extra = got.reduce((n, r, i) => n + extraPorts(r, buckets[i]!), 0);
        return rules <= budget && extra === best;
      },
    ),
    { numRuns: 400 },
  );
});

test("property: merged ranges cover every needed port and nothing outside min..max of a bucket", () => {
  fc.assert(
    fc.property(
      fc.array(bucketArb, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 4, max: 20 }),
      (buckets, budget) => {
        const got = mergeSmallestGaps(buckets, budget);
        if (got === undefined) return true;
        return buckets.every((ports, i) => {
          const ranges: PortRange[] = got[i]!;
          const covered = ports.every((p) => ranges.some((r) => r.from <= p && p <= r.to));
          const inside = ranges.every((r) => r.from >= ports[0]! && r.to <= ports[ports.length - 1]!);
          return covered && inside;
        });
      },
    ),
  );
});
