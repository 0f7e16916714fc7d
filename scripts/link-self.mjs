#!/usr/bin/env node
// Makes `require("pulumi-lbc-backend-sg/...")` resolve inside this repository (the demo, the tests), as it does in
// a user's project where the package is installed: the dynamic provider's shim loads the implementation by name.
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const link = path.join(root, "node_modules", "pulumi-lbc-backend-sg");
try {
  if (fs.readlinkSync(link) === root) process.exit(0);
  fs.rmSync(link, { force: true });
} catch {
  // not a link yet
}
if (fs.existsSync(path.join(root, "node_modules"))) fs.symlinkSync(root, link, "dir");
