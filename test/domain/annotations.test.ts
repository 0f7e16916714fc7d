import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  parseGoBool,
  parseIntOrString,
  parseStringList,
  parseStringMap,
} from "../../provider/domain/index.js";

describe("parseGoBool accepts exactly Go's strconv.ParseBool spellings", () => {
  const table: Array<[string, boolean | undefined]> = [
    ["1", true],
    ["t", true],
    ["T", true],
    ["TRUE", true],
    ["true", true],
    ["True", true],
    ["0", false],
    ["f", false],
    ["F", false],
    ["FALSE", false],
    ["false", false],
    ["False", false],
    ["yes", undefined],
    ["tRUE", undefined],
    [" true", undefined],
    ["", undefined],
    ["on", undefined],
  ];
  for (const [raw, want] of table) {
    test(`${JSON.stringify(raw)} -> ${want === undefined ? "not a boolean" : want}`, () => {
      assert.equal(parseGoBool(raw), want);
    });
  }
});

test("security-group lists are trimmed and empty items dropped", () => {
  assert.deepEqual(parseStringList(" sg-1 , ,sg-2,"), ["sg-1", "sg-2"]);
});

test("node label selectors parse as key=value pairs and reject items without '='", () => {
  assert.deepEqual(parseStringMap("role=web, zone = a"), { role: "web", zone: "a" });
  assert.equal(parseStringMap("role"), undefined);
});

test("a health-check port parses like intstr: digits are a number, anything else a name", () => {
  assert.equal(parseIntOrString("8080"), 8080);
  assert.equal(parseIntOrString("http"), "http");
});
