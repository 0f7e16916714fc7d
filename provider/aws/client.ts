// The EC2 client and the one door every call goes through.
//
// Pulumi serializes a dynamic provider's code (closures and what they capture) into the state, so the AWS SDK is
// only ever loaded inside functions: this module holds type-only imports of it, which TypeScript erases.

import type * as Ec2Sdk from "@aws-sdk/client-ec2";
import type { CallCounts } from "./types";

/** Every EC2 action this project calls, with its input and output types. */
export interface Ec2Operations {
  DescribeInstances: [Ec2Sdk.DescribeInstancesCommandInput, Ec2Sdk.DescribeInstancesCommandOutput];
  DescribeNetworkInterfaces: [
    Ec2Sdk.DescribeNetworkInterfacesCommandInput,
    Ec2Sdk.DescribeNetworkInterfacesCommandOutput,
  ];
  DescribeSecurityGroups: [
    Ec2Sdk.DescribeSecurityGroupsCommandInput,
    Ec2Sdk.DescribeSecurityGroupsCommandOutput,
  ];
  DescribeSecurityGroupRules: [
    Ec2Sdk.DescribeSecurityGroupRulesCommandInput,
    Ec2Sdk.DescribeSecurityGroupRulesCommandOutput,
  ];
  AuthorizeSecurityGroupIngress: [
    Ec2Sdk.AuthorizeSecurityGroupIngressCommandInput,
    Ec2Sdk.AuthorizeSecurityGroupIngressCommandOutput,
  ];
  RevokeSecurityGroupIngress: [
    Ec2Sdk.RevokeSecurityGroupIngressCommandInput,
    Ec2Sdk.RevokeSecurityGroupIngressCommandOutput,
  ];
  CreateTags: [Ec2Sdk.CreateTagsCommandInput, Ec2Sdk.CreateTagsCommandOutput];
}

export type Ec2Action = keyof Ec2Operations;
export type Ec2Input<A extends Ec2Action> = Ec2Operations[A][0];
export type Ec2Output<A extends Ec2Action> = Ec2Operations[A][1];

type Ec2Calls = { [A in Ec2Action]: (input: Ec2Input<A>) => Promise<Ec2Output<A>> };

/** A typed EC2 client limited to the actions above; `sdk` is the underlying client (tests seed through it). */
export interface Ec2Client {
  call<A extends Ec2Action>(action: A, input: Ec2Input<A>): Promise<Ec2Output<A>>;
  readonly sdk: Ec2Sdk.EC2Client;
  destroy(): void;
}

/** What the reader and the applier need of a client: calls only (tests pass scripted fakes). */
export type Ec2Caller = Pick<Ec2Client, "call">;

export interface Ec2ClientOptions {
  /** default: the SDK's chain (AWS_REGION, profile) */
  region?: string;
  /** e.g. moto's http://127.0.0.1:<port> */
  endpoint?: string;
  /** total attempts per call including the first; default 8 */
  maxAttempts?: number;
  /** default: the SDK's credential chain */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** a shared-config profile (Pulumi's aws:profile), like AWS_PROFILE for this client only */
  profile?: string;
}

export const DEFAULT_MAX_ATTEMPTS = 8;

export async function createEc2Client(options: Ec2ClientOptions = {}): Promise<Ec2Client> {
  const sdk = await import("@aws-sdk/client-ec2");
  // "standard" retry mode: exponential backoff with full jitter, retries throttling (RequestLimitExceeded), 5xx
  // and connection resets, bounded by maxAttempts and the SDK's retry quota so a hard outage fails instead of
  // hanging.
  const client = new sdk.EC2Client({
    retryMode: "standard",
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
  });
  const calls: Ec2Calls = {
    DescribeInstances: (input) => client.send(new sdk.DescribeInstancesCommand(input)),
    DescribeNetworkInterfaces: (input) => client.send(new sdk.DescribeNetworkInterfacesCommand(input)),
    DescribeSecurityGroups: (input) => client.send(new sdk.DescribeSecurityGroupsCommand(input)),
    DescribeSecurityGroupRules: (input) => client.send(new sdk.DescribeSecurityGroupRulesCommand(input)),
    AuthorizeSecurityGroupIngress: (input) =>
      client.send(new sdk.AuthorizeSecurityGroupIngressCommand(input)),
    RevokeSecurityGroupIngress: (input) => client.send(new sdk.RevokeSecurityGroupIngressCommand(input)),
    CreateTags: (input) => client.send(new sdk.CreateTagsCommand(input)),
  };
  return {
    call<A extends Ec2Action>(action: A, input: Ec2Input<A>): Promise<Ec2Output<A>> {
      const fn: Ec2Calls[A] = calls[action];
      return fn(input);
    },
    sdk: client,
    destroy: () => client.destroy(),
  };
}

/** Counts each call by action: the read and apply results report these so benchmarks and tests can check them. */
export class CountingEc2 {
  readonly calls: CallCounts = {};
  constructor(private readonly client: Ec2Caller) {}

  call<A extends Ec2Action>(action: A, input: Ec2Input<A>): Promise<Ec2Output<A>> {
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    return this.client.call(action, input);
  }
}

/**
 * The EC2 error code (`InvalidGroup.NotFound`, `RequestLimitExceeded`, …) of an SDK error, else undefined.
 * Matches by code only: messages change between EC2 and moto and over time.
 */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const record = err as Record<string, unknown>;
  if (typeof record.Code === "string" && record.Code !== "") return record.Code;
  // SDK v3 service exceptions carry the code as `name`, and are marked by $fault/$metadata; a plain Error's
  // name ("Error", "TypeError") is not an EC2 code.
  const isServiceException = "$fault" in record || "$metadata" in record;
  if (isServiceException && typeof record.name === "string" && record.name !== "") return record.name;
  return undefined;
}

/** `<code>: <message>` for an SDK error, the message alone for anything else. */
export function describeAwsError(err: unknown): string {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) return message;
  return message === "" || message === code ? code : `${code}: ${message}`;
}
