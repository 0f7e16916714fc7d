import { randomUUID } from "node:crypto";

/**
 * EC2's Query-protocol error body. The AWS SDK v3 (`AwsEc2QueryProtocol` in @aws-sdk/core) parses the XML, drops
 * the root element and reads `Errors.Error.Code` / `.Message`; the code becomes the error's `name`, which its retry
 * strategy classifies (`RequestLimitExceeded` is a throttling code; HTTP 500/503 are transient).
 */
export function ec2ErrorXml(code: string, message: string, requestId: string = randomUUID()): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors>` +
    `<RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`,
  );
}
