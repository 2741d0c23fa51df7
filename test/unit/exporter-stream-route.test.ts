// The Firehose HTTP endpoint delivery contract of the stream-mode route: access key, request id, envelope,
// gzip, bounds, the JSON answer Firehose reads, and a retried request id applied once.
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { redactedConfig } from "../../cmd/config.js";
import { packDeliveries, sendDelivery, type MetricStreamLine } from "../../sim/firehose.js";
import { testConfig } from "../helpers/config.js";
import { ACCESS_KEY, samples, startStreamApp, type StreamApp } from "../helpers/stream.js";

const NOW = Date.UTC(2024, 5, 1, 10, 0, 30);
const MINUTE = Date.UTC(2024, 5, 1, 9, 59, 0);

function update(value: number, timestamp = MINUTE, over: Partial<MetricStreamLine> = {}): MetricStreamLine {
  return {
    metric_stream_name: "sc",
    account_id: "123456789012",
    region: "us-east-1",
    namespace: "AWS/ECS",
    metric_name: "RequestCount",
    dimensions: { ClusterName: "prod", ServiceName: "orders", DiscoveryName: "orders-http" },
    timestamp,
    value: { max: 1, min: 1, sum: value, count: value },
    unit: "Count",
    ...over,
  };
}

let app: StreamApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function post(body: string | Buffer, headers: Record<string, string>): Promise<[number, unknown]> {
  const res = await fetch(app!.url, { method: "POST", body, headers });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return [res.status, await res.json()];
}

const firehoseHeaders = (requestId: string, key = ACCESS_KEY) => ({
  "content-type": "application/json",
  "x-amz-firehose-request-id": requestId,
  "x-amz-firehose-access-key": key,
});

describe("Firehose delivery route", () => {
  it("answers 401 with the Firehose error JSON to a wrong or missing access key, applying nothing", async () => {
    app = await startStreamApp({}, () => NOW);
    const [delivery] = packDeliveries([update(5)], { now: () => NOW });
    const wrong = await sendDelivery(delivery!, { url: app.url, accessKey: "not-the-key", maxAttempts: 1 });
    expect(wrong.status).toBe(401);
    expect(wrong.response).toEqual({
      requestId: delivery!.requestId,
      timestamp: NOW,
      errorMessage: "missing or wrong X-Amz-Firehose-Access-Key",
    });
    const [status] = await post(JSON.stringify(delivery), { "x-amz-firehose-request-id": "r1" });
    expect(status).toBe(401);
    expect(await samples(app.metrics, "aws_ecs_request_count_sum")).toEqual([]);
  });

  it("answers 400 with the error JSON to a malformed body, and the series are untouched", async () => {
    app = await startStreamApp({}, () => NOW);
    const [status, body] = await post("{not json", firehoseHeaders("bad-1"));
    expect(status).toBe(400);
    expect(body).toEqual({ requestId: "bad-1", timestamp: NOW, errorMessage: "body is not JSON" });

    const [noRecords, answer] = await post(
      JSON.stringify({ requestId: "bad-2", timestamp: NOW }),
      firehoseHeaders("bad-2"),
    );
    expect(noRecords).toBe(400);
    expect((answer as { errorMessage: string }).errorMessage).toMatch(
      /^body is not a Firehose delivery: records/,
    );

    // One good record and one bad line: the whole delivery is refused, nothing applied.
    const good = Buffer.from(`${JSON.stringify(update(5))}\n`).toString("base64");
    const bad = Buffer.from(`${JSON.stringify({ ...update(6), value: "x" })}\n`).toString("base64");
    const mixed = { requestId: "bad-3", timestamp: NOW, records: [{ data: good }, { data: bad }] };
    const [mixedStatus, mixedBody] = await post(JSON.stringify(mixed), firehoseHeaders("bad-3"));
    expect(mixedStatus).toBe(400);
    expect((mixedBody as { errorMessage: string }).errorMessage).toMatch(
      /^records\[1\] line 1: not a metric stream update: value/,
    );
    expect(await samples(app.metrics, "aws_ecs_request_count_sum")).toEqual([]);
    expect(await samples(app.metrics, "ecs_bridge_stream_deliveries_total")).toEqual([
      'ecs_bridge_stream_deliveries_total{status="400"} 3',
    ]);
  });

  it("refuses a request id that differs from the header, an OpenTelemetry record, and oversized deliveries", async () => {
    app = await startStreamApp(
      { BRIDGE_EXPORTER_STREAM_MAX_RECORDS: "2", BRIDGE_EXPORTER_STREAM_MAX_BODY_BYTES: "2048" },
      () => NOW,
    );
    const [d] = packDeliveries([update(5)], { now: () => NOW });
    const [mismatch] = await post(JSON.stringify(d), firehoseHeaders("other-id"));
    expect(mismatch).toBe(400);

    const otel = {
      requestId: "otel",
      timestamp: NOW,
      records: [{ data: Buffer.from([0x0a, 0x85, 0x01]).toString("base64") }],
    };
    const [otelStatus, otelBody] = await post(JSON.stringify(otel), firehoseHeaders("otel"));
    expect(otelStatus).toBe(415);
    expect((otelBody as { errorMessage: string }).errorMessage).toMatch(
      /OpenTelemetry output formats are not supported; set the metric stream's OutputFormat to json/,
    );

    const [many] = packDeliveries([update(1), update(2), update(3)], { updatesPerRecord: 1, now: () => NOW });
    const tooMany = await sendDelivery(many!, { url: app.url, accessKey: ACCESS_KEY, maxAttempts: 1 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.response).toMatchObject({ errorMessage: "3 records in one delivery; at most 2 accepted" });

    // The limit counts decoded bytes: a small gzip body that inflates past it is refused.
    const big = JSON.stringify({ requestId: "big", timestamp: NOW, records: [{ data: "A".repeat(4096) }] });
    const [bigStatus] = await post(gzipSync(big), { ...firehoseHeaders("big"), "content-encoding": "gzip" });
    expect(bigStatus).toBe(413);
    expect(await samples(app.metrics, "aws_ecs_request_count_sum")).toEqual([]);
  });

  it("applies a gzip delivery and answers 200 with the request id; a retried request id is applied once", async () => {
    app = await startStreamApp({}, () => NOW);
    const [first] = packDeliveries([update(5, MINUTE - 60_000)], { now: () => NOW });
    const ok = await sendDelivery(first!, { url: app.url, accessKey: ACCESS_KEY, gzip: true });
    expect(ok).toMatchObject({
      status: 200,
      attempts: 1,
      response: { requestId: first!.requestId, timestamp: NOW },
    });
    expect(ok.response).not.toHaveProperty("errorMessage");
    expect(await samples(app.metrics, "aws_ecs_request_count_sum")).toEqual([
      'aws_ecs_request_count_sum{cluster_name="prod",service_name="orders",discovery_name="orders-http",region="us-east-1"} 5',
    ]);

    const [second] = packDeliveries([update(7)], { now: () => NOW });
    expect((await sendDelivery(second!, { url: app.url, accessKey: ACCESS_KEY, gzip: false })).status).toBe(
      200,
    );
    // Firehose retries the first delivery (its answer was lost): 200 again, nothing applied twice.
    expect((await sendDelivery(first!, { url: app.url, accessKey: ACCESS_KEY })).status).toBe(200);
    expect(await samples(app.metrics, "aws_ecs_request_count_sum")).toEqual([
      'aws_ecs_request_count_sum{cluster_name="prod",service_name="orders",discovery_name="orders-http",region="us-east-1"} 7',
    ]);
    expect(await samples(app.metrics, "ecs_bridge_stream_records_total")).toEqual([
      "ecs_bridge_stream_records_total 2",
    ]);
    expect(await samples(app.metrics, "ecs_bridge_stream_updates_applied_total")).toEqual([
      "ecs_bridge_stream_updates_applied_total 2",
    ]);
    expect(await samples(app.metrics, "ecs_bridge_stream_deliveries_total")).toEqual([
      'ecs_bridge_stream_deliveries_total{status="200"} 3',
    ]);
  });
});

describe("stream options", () => {
  it("stream mode needs an access key, which is never printed; the route path cannot shadow the bridge's own", () => {
    const env = { BRIDGE_EXPORTER_ENABLED: "true", BRIDGE_EXPORTER_MODE: "stream" };
    expect(() => testConfig(env)).toThrow(
      /invalid exporter\.stream\.accessKey: stream mode needs an access key/,
    );
    const config = testConfig({ ...env, BRIDGE_EXPORTER_STREAM_ACCESS_KEY: ACCESS_KEY });
    expect(config.exporter.stream).toMatchObject({ accessKey: ACCESS_KEY, path: "/firehose/metric-stream" });
    expect(JSON.stringify(redactedConfig(config))).not.toContain(ACCESS_KEY);
    expect(() => testConfig({ ...env, BRIDGE_EXPORTER_STREAM_PATH: "/metrics/firehose" })).toThrow(
      /exporter\.stream\.path.*expected a path of its own/,
    );
    expect(testConfig().exporter.mode).toBe("poll");
  });
});
