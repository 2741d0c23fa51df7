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

/**
 * Mocks EC2 DescribeInstances and DescribeNetworkInterfaces (query protocol, XML). `ips` maps instance id ->
 * private IP; `publicIps` maps ENI id -> its public IP (any other ENI id exists, without one).
 */
export function mockEc2(ips: Record<string, string>, publicIps: Record<string, string> = {}): Mock {
  const mock: Mock = { calls: {}, bodies: {} };
  const actions = new Set(["DescribeInstances", "DescribeNetworkInterfaces"]);
  nock(ENDPOINT)
    .persist()
    .post("/", (body: string | Record<string, string>) => {
      const params = typeof body === "string" ? new URLSearchParams(body) : new URLSearchParams(body);
      return actions.has(params.get("Action") ?? "");
    })
    .reply(function (_uri, body) {
      const params = new URLSearchParams(body as string);
      const action = params.get("Action")!;
      mock.calls[action] = (mock.calls[action] ?? 0) + 1;
      const numbered = (prefix: string) =>
        [...params.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
      if (action === "DescribeNetworkInterfaces") {
        const ids = numbered("NetworkInterfaceId.");
        (mock.bodies[action] ??= []).push({ ids });
        const items = ids
          .map(
            (id) =>
              `<item><networkInterfaceId>${id}</networkInterfaceId>` +
              (publicIps[id] ? `<association><publicIp>${publicIps[id]}</publicIp></association>` : "") +
              `</item>`,
          )
          .join("");
        const xml = `<?xml version="1.0" encoding="UTF-8"?><DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><networkInterfaceSet>${items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>`;
        return [200, xml, { "content-type": "text/xml" }];
      }
      const ids = numbered("InstanceId.");
      (mock.bodies[action] ??= []).push({ ids });
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
