// Smoke test: the real Pulumi CLI (built from its Go module) and the dynamic-provider plugin from @pulumi/pulumi,
// on a file backend: preview, up, an empty second preview, an update, destroy.
import * as assert from "node:assert/strict";
import { after, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { inlineStack, type TestStack } from "./automation";

// A dynamic resource that keeps a value; its provider methods capture nothing but their arguments.
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { value: string }) {
    return { id: `smoke-${inputs.value}`, outs: { value: inputs.value } };
  },
  async diff(_id: string, olds: { value: string }, news: { value: string }) {
    return { changes: olds.value !== news.value };
  },
  async update(_id: string, _olds: { value: string }, news: { value: string }) {
    return { outs: { value: news.value } };
  },
};

class Smoke extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<string>;
  constructor(name: string, value: string) {
    super(provider, name, { value }, {});
  }
}

let t: TestStack | undefined;
after(async () => t?.dispose());

test("preview, up, a second preview with no changes, an update, then destroy", async () => {
  t = await inlineStack("lbc-sg-smoke", async () => {
    const config = new pulumi.Config();
    const res = new Smoke("smoke", config.get("value") ?? "one");
    return { value: res.id };
  });
  const { stack } = t;

  const preview = await stack.preview({ diff: true });
  assert.deepEqual(preview.changeSummary, { create: 2 });
  assert.match(preview.stdout, /\+ pulumi-nodejs:dynamic:Resource/);

  const up = await stack.up();
  assert.deepEqual(up.summary.resourceChanges, { create: 2 });
  assert.equal(up.outputs.value?.value, "smoke-one");

  const again = await stack.preview({ expectNoChanges: true });
  assert.deepEqual(again.changeSummary, { same: 2 });

  await stack.setConfig("value", { value: "two" });
  const changed = await stack.preview({ diff: true });
  assert.deepEqual(changed.changeSummary, { same: 1, update: 1 });

  const destroy = await stack.destroy();
  assert.deepEqual(destroy.summary.resourceChanges, { delete: 2 });
});
