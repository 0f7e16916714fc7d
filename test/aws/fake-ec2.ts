// A scripted EC2 for unit tests of behaviours moto does not have (atomic duplicate rejection, eventual
// consistency, pagination of rules, AWS's own NotFound codes). Each call is logged and answered by the script.

import type { Ec2Action, Ec2Caller, Ec2Input, Ec2Output } from "../../provider/aws/client";

export interface LoggedCall {
  action: Ec2Action;
  input: unknown;
}

export type Script = (action: Ec2Action, input: unknown, log: readonly LoggedCall[]) => unknown;

export function fakeEc2(script: Script): { client: Ec2Caller; log: LoggedCall[] } {
  const log: LoggedCall[] = [];
  return {
    log,
    client: {
      async call<A extends Ec2Action>(action: A, input: Ec2Input<A>): Promise<Ec2Output<A>> {
        log.push({ action, input });
        // The script answers with the output shape of the action (or throws): trusted test data.
        return (await script(action, input, log)) as Ec2Output<A>;
      },
    },
  };
}

/** An error shaped like the SDK's EC2 service exceptions (code in `name`, `$fault`, `$metadata`). */
export function ec2Error(code: string, message: string): Error {
  return Object.assign(new Error(message), {
    name: code,
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

export const meta = { $metadata: {} };
