// The exporter against the simulated AWS endpoint (sim/), through real SDK clients over loopback: the
// Service Connect series the sim publishes (both families, 1- and 3-dimension sets, ingestion lag,
// datapoint pagination), throttling, staleness, and the bridge's /metrics with the exporter on and off.
import { afterEach, describe, expect, it } from "vitest";
import { createClients } from "../../core/aws.js";
import { startBridge, type Bridge } from "../../cmd/bridge.js";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { createExporter, type Exporter } from "../../exporter/index.js";
import { startSimAws, type SimAws } from "../../sim/server.js";
import type { Scenario } from "../../sim/types.js";
import { testConfig } from "../helpers/config.js";

// Written for one-minute collections (the defaults are five-minute, for cost).
const MINUTE_RESOLUTION = {
  BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *",
  BRIDGE_EXPORTER_PERIOD_SECONDS: "60",
};

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
// 2024-06-01T10:00:30Z: window [09:53, 09:58) with period 60 and delay 120 (a five-minute window).
const T0 = Date.UTC(2024, 5, 1, 10, 0, 30);
const NEWEST = Date.UTC(2024, 5, 1, 9, 57, 0) / 1000;

const SCENARIO: Scenario = {
  serviceConnect: [
    { cluster: "prod", service: "orders", discoveryName: "orders-http" },
    { cluster: "prod", service: "users", discoveryName: "users-http", scale: 2 },
  ],
  // A series with known values: RequestCount Sum 42 per minute, last datapoint at NEWEST.
  metrics: [
    {
      metricName: "RequestCount",
      dimensions: { DiscoveryName: "billing", ServiceName: "billing", ClusterName: "prod" },
      value: 42,
      until: NEWEST,
    },
  ],
  cloudwatch: { lagSeconds: 90, maxDatapointsPerPage: 40 },
};

let sim: SimAws | undefined;
let bridge: Bridge | undefined;
const clock = { now: T0 };

afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  await sim?.close();
  sim = undefined;
  clock.now = T0;
});

async function withSim(scenario: Scenario = SCENARIO, now: () => number = () => clock.now): Promise<SimAws> {
  sim = await startSimAws({ scenario, now });
  return sim;
}

function exporterFor(
  s: SimAws,
  env: Record<string, string> = {},
): { exporter: Exporter; metrics: SelfMetrics } {
  const metrics = createSelfMetrics({ defaults: false });
  const clients = createClients(
    { region: "us-east-1" },
    { metrics, credentials: CREDENTIALS, maxAttempts: 1, env: { AWS_ENDPOINT_URL: s.url } },
  );
  const exporter = createExporter({
    config: testConfig({ BRIDGE_EXPORTER_ENABLED: "true", ...MINUTE_RESOLUTION, ...env }),
    scopes: [{ key: "default/us-east-1", region: "us-east-1", clients }],
    metrics,
    now: () => clock.now,
  });
  return { exporter, metrics };
}

async function sampleLines(metrics: SelfMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`));
}

describe("exporter against the simulated AWS endpoint", () => {
  it("exports both families of every service, 3-dimension set only, following datapoint pages", async () => {
    const s = await withSim();
    const { exporter, metrics } = exporterFor(s);
    const report = await exporter.collectOnce();
    expect(report.ok).toBe(true);
    // 2 Service Connect services x 16 (series x statistic) + the billing series.
    expect(report.exported).toBe(33);
    const requests = await sampleLines(metrics, "aws_ecs_request_count_sum");
    expect(requests).toHaveLength(3);
    expect(requests).toContain(
      'aws_ecs_request_count_sum{cluster_name="prod",service_name="billing",discovery_name="billing",region="us-east-1"} 42',
    );
    const codes = await sampleLines(metrics, "aws_ecs_http_code_target_2xx_count_sum");
    expect(codes.map((l) => l.replace(/ [0-9.e+-]+$/, "")).sort()).toEqual([
      'aws_ecs_http_code_target_2xx_count_sum{cluster_name="prod",service_name="orders",target_discovery_name="orders-http",region="us-east-1"}',
      'aws_ecs_http_code_target_2xx_count_sum{cluster_name="prod",service_name="users",target_discovery_name="users-http",region="us-east-1"}',
    ]);
    expect(await sampleLines(metrics, "aws_ecs_target_response_time_average")).toHaveLength(2);
    expect(await sampleLines(metrics, "aws_ecs_active_connection_count_maximum")).toHaveLength(2);
    // 33 queries in one batch; 33 x 5 points = 165 datapoints at 40 per page -> 5 pages.
    expect(s.calls("GetMetricData")).toBe(5);
    expect(s.calls("ListMetrics")).toBe(2);
    for (const call of s.callLog({ operation: "GetMetricData" })) {
      expect(call.params).toMatchObject({
        ScanBy: "TimestampDescending",
        StartTime: NEWEST + 60 - 300,
        EndTime: NEWEST + 60,
      });
    }
  });

  it("exporter.linkedAccounts: ListMetrics asks for linked accounts; each query names the owner, labelled account_id", async () => {
    const s = await withSim({ ...SCENARIO, accountId: "111111111111" });
    const { exporter, metrics } = exporterFor(s, { BRIDGE_EXPORTER_LINKED_ACCOUNTS: "true" });
    expect((await exporter.collectOnce()).ok).toBe(true);
    for (const call of s.callLog({ operation: "ListMetrics" }))
      expect(call.params).toMatchObject({ IncludeLinkedAccounts: true });
    const queries = s
      .callLog({ operation: "GetMetricData" })
      .flatMap((c) => c.params.MetricDataQueries as { AccountId?: string }[]);
    expect(new Set(queries.map((q) => q.AccountId))).toEqual(new Set(["111111111111"]));
    const requests = await sampleLines(metrics, "aws_ecs_request_count_sum");
    expect(requests).toContain(
      'aws_ecs_request_count_sum{cluster_name="prod",service_name="billing",discovery_name="billing",region="us-east-1",account_id="111111111111"} 42',
    );
  });

  it("keeps the last values through throttling, then drops a series that stops publishing", async () => {
    const s = await withSim();
    const { exporter, metrics } = exporterFor(s);
    await exporter.collectOnce();
    const billing = 'service_name="billing"';
    expect((await sampleLines(metrics, "aws_ecs_request_count_sum")).some((l) => l.includes(billing))).toBe(
      true,
    );

    s.throttleNext({ service: "cloudwatch", operation: "GetMetricData", count: 1 });
    clock.now += 60_000;
    const throttled = await exporter.collectOnce();
    expect(throttled.ok).toBe(false);
    expect(throttled.scopes[0]!.errors).toEqual(["GetMetricData: Throttling"]);
    expect(await sampleLines(metrics, "aws_ecs_request_count_sum")).toHaveLength(3);

    // billing published its last point at NEWEST; the others keep publishing.
    clock.now = (NEWEST + 901) * 1000;
    const later = await exporter.collectOnce();
    expect(later.ok).toBe(true);
    const lines = await sampleLines(metrics, "aws_ecs_request_count_sum");
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes(billing))).toBe(false);
  });

  it("the bridge serves the exported series on /metrics; switched off it makes no CloudWatch call", async () => {
    // startBridge runs on the real clock, so the sim does too.
    const s = await withSim(SCENARIO, Date.now);
    const env = { BRIDGE_LISTEN_HOST: "127.0.0.1", BRIDGE_LISTEN_PORT: "0", BRIDGE_ECS_ENABLED: "false" };
    const clientOptions = { credentials: CREDENTIALS, env: { AWS_ENDPOINT_URL: s.url } };

    bridge = await startBridge({
      config: testConfig({ ...MINUTE_RESOLUTION, ...env, BRIDGE_EXPORTER_ENABLED: "true" }),
      clientOptions,
      logger: silentLogger,
      defaultMetrics: false,
      schedule: false,
    });
    expect(bridge.exporter).toBeDefined();
    await bridge.exporter!.collectOnce();
    const body = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(body).toMatch(/^aws_ecs_request_count_sum\{cluster_name="prod",service_name="orders",/m);
    expect(body).toMatch(/^ecs_bridge_cloudwatch_metrics_requested_total\{scope="default\/us-east-1"\} \d+/m);
    await bridge.close();
    bridge = undefined;

    s.resetCalls();
    bridge = await startBridge({
      config: testConfig({ ...env, BRIDGE_EXPORTER_ENABLED: "false" }),
      clientOptions,
      logger: silentLogger,
      defaultMetrics: false,
      schedule: true,
    });
    expect(bridge.exporter).toBeUndefined();
    const off = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(off).not.toContain("aws_ecs_");
    expect(s.calls("ListMetrics") + s.calls("GetMetricData")).toBe(0);
  });
});
