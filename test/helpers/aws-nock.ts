// nock interceptors that speak the AWS wire protocols the SDK clients use, for unit tests.
// Handlers receive the parsed request and return the response body (or throw awsError()).
import nock from "nock";
import { createClients, type AwsClients } from "../../core/aws.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";

export const ENDPOINT = "http://127.0.0.1:1";

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type JsonHandler = (body: Record<string, unknown>) => unknown;

export interface Mock {
  calls: Record<string, number>;
  bodies: Record<string, Record<string, unknown>[]>;
}

/** Mocks a JSON-protocol service (ECS, Cloud Map, CloudWatch) on ENDPOINT; unknown operations fail the test. */
export function mockJson(
  handlers: Record<string, JsonHandler>,
  contentType = "application/x-amz-json-1.1",
): Mock {
  const mock: Mock = { calls: {}, bodies: {} };
  nock(ENDPOINT)
    .persist()
    .post("/")
    .matchHeader("x-amz-target", (v: string | undefined) => {
      const op = v?.split(".")[1] ?? "";
      return op in handlers;
    })
    .reply(function (_uri, body) {
      const op = String(this.req.headers["x-amz-target"]).split(".")[1]!;
      mock.calls[op] = (mock.calls[op] ?? 0) + 1;
      const parsed = (typeof body === "string" ? JSON.parse(body || "{}") : body) as Record<string, unknown>;
      (mock.bodies[op] ??= []).push(parsed);
      try {
        return [200, JSON.stringify(handlers[op]!(parsed)), { "content-type": contentType }];
      } catch (err) {
        if (err instanceof AwsError)
          return [
            err.status,
            JSON.stringify({ __type: err.code, message: err.message }),
            { "content-type": contentType },
          ];
        throw err;
      }
    });
  return mock;
}

/** Mocks EC2 DescribeInstances (query protocol, XML). `ips` maps instance id -> private IP. */
export function mockEc2(ips: Record<string, string>): Mock {
  const mock: Mock = { calls: {}, bodies: {} };
  nock(ENDPOINT)
    .persist()
    .post("/", (body: string | Record<string, string>) => {
      const params = typeof body === "string" ? new URLSearchParams(body) : new URLSearchParams(body);
      return params.get("Action") === "DescribeInstances";
    })
    .reply(function (_uri, body) {
      mock.calls.DescribeInstances = (mock.calls.DescribeInstances ?? 0) + 1;
      const params = new URLSearchParams(body as string);
      const ids = [...params.entries()].filter(([k]) => k.startsWith("InstanceId.")).map(([, v]) => v);
      (mock.bodies.DescribeInstances ??= []).push({ ids });
      // Like EC2: an id that is not an EC2 instance id (e.g. an SSM managed instance mi-...) fails the call.
      const malformed = ids.find((id) => !/^i-[0-9a-f]+$/.test(id));
      if (malformed)
        return [
          400,
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidInstanceID.Malformed</Code><Message>Invalid id: "${malformed}"</Message></Error></Errors><RequestID>r</RequestID></Response>`,
          { "content-type": "text/xml" },
        ];
      const items = ids
        .filter((id) => ips[id])
        .map(
          (id) =>
            `<item><instanceId>${id}</instanceId><privateIpAddress>${ips[id]}</privateIpAddress></item>`,
        )
        .join("");
      const xml = `<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${items}</instancesSet></item></reservationSet></DescribeInstancesResponse>`;
      return [200, xml, { "content-type": "text/xml" }];
    });
  return mock;
}

export function testClients(
  metrics: SelfMetrics = createSelfMetrics({ defaults: false }),
  maxAttempts = 1,
): AwsClients {
  return createClients(
    { region: "us-east-1" },
    {
      metrics,
      maxAttempts,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      env: { AWS_ENDPOINT_URL: ENDPOINT },
    },
  );
}
