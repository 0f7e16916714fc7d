#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { EXIT_INVALID, runPlanCommand, USAGE } from "./plan-command.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== "plan") {
    process.stderr.write(
      `lbc-backend-sg: unknown command ${JSON.stringify(command ?? "")}; expected plan\n\n${USAGE}\n`,
    );
    return EXIT_INVALID;
  }
  return runPlanCommand(rest, {
    readFile: (path) => readFile(path, "utf8"),
    readStdin,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`lbc-backend-sg: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
