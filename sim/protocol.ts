// Wire-level pieces shared by the simulated services: the error type handlers throw, how each protocol
// renders an error, and what the server knows about a request before a handler runs.
import { randomUUID } from "node:crypto";

export type SimService = "ecs" | "ec2" | "servicediscovery" | "cloudwatch" | "sts" | "sqs";

/** An AWS error as a handler raises it; the protocol layer renders it in the service's real shape. */
export class SimAwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** awsQueryCompatible services (CloudWatch) also send the query-protocol code in x-amzn-query-error. */
    readonly queryCode?: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** A mistake in a scenario or a mutation call (not an AWS error). */
export class SimScenarioError extends Error {
  override name = "SimScenarioError";
}

export interface SimRequest {
  service: SimService;
  operation: string;
  /** Parsed JSON body, or the form fields of a query request. */
  params: Record<string, unknown>;
  /** From the SigV4 credential scope; the scenario region when unsigned. */
  region: string;
  accessKeyId?: string;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** JSON protocols: target prefix -> service, and the content type each returns. */
export const JSON_TARGETS: Record<string, { service: SimService; contentType: string }> = {
  AmazonEC2ContainerServiceV20141113: { service: "ecs", contentType: "application/x-amz-json-1.1" },
  Route53AutoNaming_v20170314: { service: "servicediscovery", contentType: "application/x-amz-json-1.1" },
  GraniteServiceVersion20100801: { service: "cloudwatch", contentType: "application/x-amz-json-1.0" },
  AmazonSQS: { service: "sqs", contentType: "application/x-amz-json-1.0" },
};

/** `Credential=AKID/20240101/us-east-1/ecs/aws4_request` -> { accessKeyId, region }. */
export function parseAuthorization(header: string | undefined): { accessKeyId?: string; region?: string } {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\//.exec(header ?? "");
  return m ? { accessKeyId: m[1], region: m[2] } : {};
}

export function jsonResponse(contentType: string, body: unknown, status = 200): SimResponse {
  return {
    status,
    headers: { "content-type": contentType, "x-amzn-requestid": randomUUID() },
    body: JSON.stringify(body ?? {}),
  };
}

/**
 * The error shape of each JSON service: ECS `{__type, message}`; Cloud Map `{__type, Message}`; CloudWatch
 * (awsJson1_0 + awsQueryCompatible) `{__type, message}` plus `x-amzn-query-error: Code;Sender|Receiver`,
 * from which the SDK takes the error code.
 */
export function jsonError(service: SimService, contentType: string, err: SimAwsError): SimResponse {
  const messageKey = service === "servicediscovery" ? "Message" : "message";
  const res = jsonResponse(contentType, { __type: err.code, [messageKey]: err.message }, err.status);
  // awsQueryCompatible services: the SDK takes the error code from x-amzn-query-error.
  if (service === "cloudwatch" || service === "sqs") {
    res.headers["x-amzn-query-error"] =
      `${err.queryCode ?? err.code};${err.status >= 500 ? "Receiver" : "Sender"}`;
  }
  return res;
}

export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** EC2 query-protocol error: `<Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors>`. */
export function ec2Error(err: SimAwsError): SimResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code>` +
    `<Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
  return { status: err.status, headers: { "content-type": "text/xml;charset=UTF-8" }, body };
}

/** awsQuery (STS) error: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function queryError(err: SimAwsError, xmlns: string): SimResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${xmlns}"><Error><Type>${err.status >= 500 ? "Receiver" : "Sender"}</Type>` +
    `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error>` +
    `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { "content-type": "text/xml" }, body };
}

/** The error each service answers with when the sim throttles a call. */
export function throttleError(service: SimService, operation: string): SimAwsError {
  switch (service) {
    case "ec2":
      return new SimAwsError("RequestLimitExceeded", "Request limit exceeded.", 503);
    case "servicediscovery":
      // DiscoverInstances (data plane) models RequestLimitExceeded; the control plane throttles generically.
      return operation === "DiscoverInstances"
        ? new SimAwsError(
            "RequestLimitExceeded",
            "The operation can't be completed because you've reached the quota for the number of requests.",
          )
        : new SimAwsError("ThrottlingException", "Rate exceeded");
    case "cloudwatch":
      return new SimAwsError("ThrottlingException", "Rate exceeded", 400, "Throttling");
    case "sts":
      return new SimAwsError("Throttling", "Rate exceeded");
    default:
      return new SimAwsError("ThrottlingException", "Rate exceeded");
  }
}

/** The error each service answers with for a forced server-side failure with this status. */
export function serverError(service: SimService, status: number): SimAwsError {
  const message = "We encountered an internal error. Please try again.";
  switch (service) {
    case "ecs":
      return new SimAwsError("ServerException", message, status);
    case "ec2":
      return new SimAwsError(status === 503 ? "Unavailable" : "InternalError", message, status);
    case "cloudwatch":
      return new SimAwsError("InternalServiceFault", message, status, "InternalServiceError");
    default:
      return new SimAwsError(status === 503 ? "ServiceUnavailable" : "InternalFailure", message, status);
  }
}

/** Opaque pagination token over a stable position (e.g. the last item's sequence number). */
export function encodeToken(position: number | string): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

export function decodeToken(token: unknown, onInvalid: () => SimAwsError): number | string | undefined {
  if (token === undefined || token === null || token === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64url").toString("utf8")) as { p?: unknown };
    if (typeof parsed.p === "number" || typeof parsed.p === "string") return parsed.p;
  } catch {
    // fall through
  }
  throw onInvalid();
}
