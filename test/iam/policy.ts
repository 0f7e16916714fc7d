// iam-policy.json as data, and the EC2 actions the provider's code can call (the keys of Ec2Operations in
// provider/aws/client.ts, read from the source: the interface is type-only and has no runtime list).
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export function readPolicy(): PolicyDocument {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "iam-policy.json"), "utf8")) as PolicyDocument;
}

export function actionsOf(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every action the policy allows, without the ec2: prefix, sorted and unique. */
export function policyActions(policy: PolicyDocument): string[] {
  const all = policy.Statement.flatMap(actionsOf).map((a) => a.replace(/^ec2:/, ""));
  return [...new Set(all)].sort();
}

/** The member names of `interface Ec2Operations { … }` in provider/aws/client.ts. */
export function ec2OperationsInCode(): string[] {
  const source = fs.readFileSync(path.join(ROOT, "provider/aws/client.ts"), "utf8");
  const body = /export interface Ec2Operations \{([\s\S]*?)\n\}/.exec(source)?.[1];
  if (body === undefined) throw new Error("provider/aws/client.ts: interface Ec2Operations not found");
  return [...body.matchAll(/^ {2}([A-Z][A-Za-z0-9]+):/gm)].map((m) => m[1]!).sort();
}

/**
 * The policy as moto 5.2.5 can evaluate it: the same statements with Resource "*". moto authorizes every EC2
 * request against the resource "*", so an ARN pattern never matches. Conditions are kept, and moto ignores them
 * here: it evaluates only StringEquals, against request-context keys EC2 requests do not carry
 * (moto/iam/policy_conditions.py). The conditions are justified against the AWS documentation in the README.
 */
export function motoForm(policy: PolicyDocument): PolicyDocument {
  return {
    Version: policy.Version,
    Statement: policy.Statement.map((statement) => ({ ...statement, Resource: "*" })),
  };
}
