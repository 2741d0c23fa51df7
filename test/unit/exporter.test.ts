import type { GetMetricDataInput, MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../cmd/config.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { toMetricDataQuery } from "../../exporter/collect.js";
import { createExporter, type Exporter, type ExporterScope } from "../../exporter/index.js";
import { AwsError, mockJson, testClients } from "../helpers/aws-nock.js";
import { testConfig } from "../helpers/config.js";
import { FakeCloudWatch, serviceConnect, testScope, type FakeSeries } from "./exporter-fake.js";

// These tests were written for one-minute collections (the defaults are five-minute, for cost).
const MINUTE_RESOLUTION = {
  BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *",
  BRIDGE_EXPORTER_PERIOD_SECONDS: "60",
};

// 2024-01-01T12:00:30Z. Defaults: period 60, delay 120, window 300 -> [11:53:00, 11:58:00).
const NOW = Date.UTC(2024, 0, 1, 12, 0, 30);
const WINDOW_END = Date.UTC(2024, 0, 1, 11, 58, 0) / 1000;
const NEWEST = WINDOW_END - 60;

interface Harness {
  cw: FakeCloudWatch;
  metrics: SelfMetrics;
  exporter: Exporter;
  clock: { now: number };
}

/**
 * The exporter on the fake, in-process; with `wire` through the SDK client instead (the fake served by nock),
 * for what only the client sees (its request counter).
 */
function setup(
  series: FakeSeries[],
  env: Record<string, string> = {},
  opts: { scope?: ExporterScope; wire?: boolean } = {},
): Harness {
  const metrics = createSelfMetrics({ defaults: false });
  const cw = new FakeCloudWatch();
  if (opts.wire) cw.serve();
  cw.series = series;
  const clock = { now: NOW };
  const exporter = createExporter({
    config: testConfig({ BRIDGE_EXPORTER_ENABLED: "true", ...MINUTE_RESOLUTION, ...env }),
    scopes: [opts.scope ?? testScope(metrics)],
    metrics,
    now: () => clock.now,
    ...(opts.wire ? {} : { api: () => cw.api }),
  });
  return { cw, metrics, exporter, clock };
}

type Sample = { labels: Record<string, string | number>; value: number };

async function samples(h: Harness, name: string): Promise<Sample[]> {
  const m = h.metrics.registry.getSingleMetric(name);
  return m ? ((await m.get()).values as Sample[]) : [];
}

async function value(
  h: Harness,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const all = await samples(h, name);
  return all.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const queriesOf = (input: GetMetricDataInput): MetricDataQuery[] => input.MetricDataQueries ?? [];
const at = (unixSeconds: number): Date => new Date(unixSeconds * 1000);

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

describe("series discovery (ListMetrics)", () => {
  it("exports only the 3-dimension set by default, never the 1-dimension copy as well", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 7));
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(true);
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([
      {
        labels: {
          cluster_name: "prod",
          service_name: "orders",
          discovery_name: "orders-http",
          region: "us-east-1",
        },
        value: 7,
      },
    ]);
    const queries = h.cw.inputs.GetMetricData.flatMap(queriesOf);
    // 6 DiscoveryName metrics + 8 TargetDiscoveryName metrics, two of them with Average and Maximum.
    expect(queries).toHaveLength(16);
    for (const q of queries) expect(q.MetricStat!.Metric!.Dimensions).toHaveLength(3);
  });

  it("exporter.dimensions=1 exports only the discovery-name-only series", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 7), { BRIDGE_EXPORTER_DIMENSIONS: "1" });
    await h.exporter.collectOnce();
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([
      { labels: { discovery_name: "orders-http", region: "us-east-1" }, value: 7 },
    ]);
    expect(await samples(h, "aws_ecs_http_code_target_2xx_count_sum")).toEqual([
      { labels: { target_discovery_name: "orders-http", region: "us-east-1" }, value: 7 },
    ]);
    const queries = h.cw.inputs.GetMetricData.flatMap(queriesOf);
    expect(queries).toHaveLength(16);
    for (const q of queries) expect(q.MetricStat!.Metric!.Dimensions).toHaveLength(1);
  });

  it("lists each family by its dimension, recently active only, and follows NextToken", async () => {
    const h = setup([
      ...serviceConnect("prod", "a", "a"),
      ...serviceConnect("prod", "b", "b"),
      ...serviceConnect("prod", "c", "c"),
    ]);
    h.cw.listPageSize = 7;
    await h.exporter.collectOnce();
    const bodies = h.cw.inputs.ListMetrics;
    // DiscoveryName: 3 services x 6 metrics x 2 sets = 36 -> 6 pages; TargetDiscoveryName: 48 -> 7 pages.
    expect(bodies).toHaveLength(13);
    expect(bodies.filter((b) => JSON.stringify(b.Dimensions) === '[{"Name":"DiscoveryName"}]')).toHaveLength(
      6,
    );
    expect(
      bodies.filter((b) => JSON.stringify(b.Dimensions) === '[{"Name":"TargetDiscoveryName"}]'),
    ).toHaveLength(7);
    for (const b of bodies) {
      expect(b.Namespace).toBe("AWS/ECS");
      expect(b.RecentlyActive).toBe("PT3H");
    }
    expect(bodies.filter((b) => b.NextToken !== undefined)).toHaveLength(13 - 2);
    expect(h.cw.inputs.GetMetricData.flatMap(queriesOf)).toHaveLength(3 * 16);
    expect(await samples(h, "aws_ecs_target_response_time_maximum")).toHaveLength(3);
  });

  it("filters by cluster, service and discovery name", async () => {
    const all = [
      ...serviceConnect("prod", "orders", "orders-http"),
      ...serviceConnect("prod", "users", "users-http"),
      ...serviceConnect("staging", "orders", "orders-http"),
    ];
    const byCluster = setup(all, { BRIDGE_EXPORTER_CLUSTERS: "prod" });
    await byCluster.exporter.collectOnce();
    expect(
      (await samples(byCluster, "aws_ecs_request_count_sum")).map((s) => s.labels.service_name).sort(),
    ).toEqual(["orders", "users"]);
    const byService = setup(all, { BRIDGE_EXPORTER_SERVICES: "orders" });
    await byService.exporter.collectOnce();
    expect(
      (await samples(byService, "aws_ecs_request_count_sum")).map((s) => s.labels.cluster_name).sort(),
    ).toEqual(["prod", "staging"]);
    const byName = setup(all, { BRIDGE_EXPORTER_DISCOVERY_NAMES: "users-http" });
    await byName.exporter.collectOnce();
    expect(await samples(byName, "aws_ecs_request_count_sum")).toHaveLength(1);
    expect(await samples(byName, "aws_ecs_target_processed_bytes_sum")).toEqual([
      expect.objectContaining({ labels: expect.objectContaining({ target_discovery_name: "users-http" }) }),
    ]);
    expect(byName.cw.inputs.GetMetricData.flatMap(queriesOf)).toHaveLength(16);
  });

  it("ignores metrics outside the catalogue and series with other dimension sets", async () => {
    const h = setup([
      { metric: "RequestCount", dims: { DiscoveryName: "d", ServiceName: "s", ClusterName: "c" } },
      { metric: "SomeFutureCount", dims: { DiscoveryName: "d", ServiceName: "s", ClusterName: "c" } },
      // A DiscoveryName-family metric listed under the other family's dimension.
      { metric: "RequestCount", dims: { TargetDiscoveryName: "d", ServiceName: "s", ClusterName: "c" } },
      { metric: "RequestCount", dims: { DiscoveryName: "d", ServiceName: "s" } },
    ]);
    await h.exporter.collectOnce();
    const queries = h.cw.inputs.GetMetricData.flatMap(queriesOf);
    expect(queries.map((q) => q.MetricStat!.Metric!.MetricName)).toEqual(["RequestCount"]);
    expect(await samples(h, "aws_ecs_request_count_sum")).toHaveLength(1);
  });

  it("caches the listing for listMetricsTtlSeconds", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {
      BRIDGE_EXPORTER_LIST_METRICS_TTL_SECONDS: "300",
    });
    await h.exporter.collectOnce();
    expect(h.cw.calls("ListMetrics")).toBe(2);
    h.clock.now += 240_000;
    await h.exporter.collectOnce();
    expect(h.cw.calls("ListMetrics")).toBe(2);
    expect(h.cw.calls("GetMetricData")).toBe(2);
    h.clock.now += 60_000;
    await h.exporter.collectOnce();
    expect(h.cw.calls("ListMetrics")).toBe(4);
  });

  it("keeps collecting with the previous listing when ListMetrics fails", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {
      BRIDGE_EXPORTER_LIST_METRICS_TTL_SECONDS: "60",
    });
    await h.exporter.collectOnce();
    h.clock.now += 120_000;
    h.cw.failures.ListMetrics = [new AwsError("Throttling", "Rate exceeded")];
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(false);
    expect(report.scopes[0]!.errors).toEqual(["ListMetrics: Throttling"]);
    expect(report.scopes[0]!.metricsRequested).toBe(16);
    expect(await value(h, "ecs_bridge_cloudwatch_collection_errors_total", { api: "ListMetrics" })).toBe(1);
  });

  it("a scope whose first ListMetrics fails sends no GetMetricData and exports nothing", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    h.cw.failures.ListMetrics = [new AwsError("AccessDenied", "not authorized", 403)];
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(false);
    expect(h.cw.calls("GetMetricData")).toBe(0);
    expect(report.exported).toBe(0);
    expect(await value(h, "ecs_bridge_cloudwatch_last_success_timestamp_seconds")).toBe(0);
  });
});

describe("GetMetricData", () => {
  it("asks for a period-aligned window held back by the delay, newest first", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    await h.exporter.collectOnce();
    h.clock.now = Date.UTC(2024, 0, 1, 12, 2, 0); // exactly on a boundary: end = 12:00:00
    await h.exporter.collectOnce();
    const [first, second] = h.cw.inputs.GetMetricData;
    expect(first).toMatchObject({
      StartTime: at(WINDOW_END - 300),
      EndTime: at(WINDOW_END),
      ScanBy: "TimestampDescending",
    });
    const end2 = Date.UTC(2024, 0, 1, 12, 0, 0) / 1000;
    expect(second).toMatchObject({ StartTime: at(end2 - 300), EndTime: at(end2) });
    for (const q of queriesOf(first!)) expect(q.MetricStat!.Period).toBe(60);
  });

  it("uses the configured period and delay; the window is two periods of five minutes", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {
      BRIDGE_EXPORTER_PERIOD_SECONDS: "300",
      BRIDGE_EXPORTER_DELAY_SECONDS: "600",
      BRIDGE_EXPORTER_STALENESS_SECONDS: "1800",
    });
    await h.exporter.collectOnce();
    const body = h.cw.inputs.GetMetricData[0]!;
    const end = Date.UTC(2024, 0, 1, 11, 50, 0) / 1000; // 12:00:30 - 10 min = 11:50:30 -> 11:50:00
    expect(body).toMatchObject({ StartTime: at(end - 600), EndTime: at(end) });
    for (const q of queriesOf(body)) expect(q.MetricStat!.Period).toBe(300);
  });

  it("exports the newest point of the window, following NextToken across pages", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    // Value = minutes since the window start, so the newest point is 4 and older ones are smaller.
    h.cw.data = (_s, _stat, t) => (t - (WINDOW_END - 300)) / 60;
    h.cw.dataPageSize = 3; // 16 queries x 5 points = 80 points -> 27 pages
    await h.exporter.collectOnce();
    const bodies = h.cw.inputs.GetMetricData;
    expect(bodies).toHaveLength(27);
    expect(bodies.slice(1).every((b) => typeof b.NextToken === "string")).toBe(true);
    for (const b of bodies) expect(queriesOf(b)).toHaveLength(16);
    for (const name of [
      "aws_ecs_request_count_sum",
      "aws_ecs_target_response_time_average",
      "aws_ecs_active_connection_count_maximum",
    ])
      expect(await value(h, name)).toBe(4);
    // Billed per request: every page carries all 16 queries.
    expect(await value(h, "ecs_bridge_cloudwatch_metrics_requested_total")).toBe(27 * 16);
  });

  it.each([
    [499, [499]],
    [500, [500]],
    [501, [500, 1]],
  ])("sends %i queries in batches of at most 500: %j", async (n, sizes) => {
    const series = Array.from({ length: n }, (_, i) => ({
      metric: "RequestCount",
      dims: { DiscoveryName: `d${i}`, ServiceName: `s${i}`, ClusterName: "prod" },
      value: i,
    }));
    const h = setup(series, {}, { wire: true });
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(true);
    const bodies = h.cw.inputs.GetMetricData;
    expect(bodies.map((b) => queriesOf(b).length)).toEqual(sizes);
    for (const b of bodies) {
      const ids = queriesOf(b).map((q) => q.Id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    }
    // Every value lands on its own series, across batches.
    const all = await samples(h, "aws_ecs_request_count_sum");
    expect(all).toHaveLength(n);
    for (const s of all) expect(s.value).toBe(Number(String(s.labels.discovery_name).slice(1)));
    expect(await value(h, "ecs_bridge_cloudwatch_metrics_requested_total")).toBe(n);
    expect(await value(h, "ecs_bridge_aws_requests_total", { operation: "GetMetricData" })).toBe(
      sizes.length,
    );
  });
});

describe("staleness and errors", () => {
  it("drops a series once its newest datapoint is older than stalenessSeconds, never showing 0", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 5));
    const lastPoint = NEWEST; // the service stops publishing after this point
    h.cw.data = (s, _stat, t) => (t <= lastPoint ? (s.value ?? 1) : undefined);
    await h.exporter.collectOnce();
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(5);
    // Staleness 900 s: the point (11:57:00) is kept while now - 11:57:00 <= 900 s, i.e. until 12:12:00.
    h.clock.now = (lastPoint + 900) * 1000;
    let report = await h.exporter.collectOnce();
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(5);
    expect(report.removed).toBe(0);
    h.clock.now += 1000;
    report = await h.exporter.collectOnce();
    expect(report.removed).toBe(16);
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([]);
    expect(await h.metrics.registry.metrics()).not.toMatch(/^aws_ecs_\w+\{/m);
    expect(await value(h, "ecs_bridge_cloudwatch_series")).toBe(0);
  });

  it("GetMetricData errors keep the last values until they go stale", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 5));
    await h.exporter.collectOnce();
    const okAt = await value(h, "ecs_bridge_cloudwatch_last_success_timestamp_seconds");
    expect(okAt).toBe(NOW / 1000);
    h.cw.failures.GetMetricData = Array.from(
      { length: 20 },
      () => new AwsError("Throttling", "Rate exceeded"),
    );
    h.clock.now += 60_000;
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(false);
    expect(report.scopes[0]!.errors).toEqual(["GetMetricData: Throttling"]);
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(5);
    expect(
      await value(h, "ecs_bridge_cloudwatch_collection_errors_total", {
        api: "GetMetricData",
        code: "Throttling",
      }),
    ).toBe(1);
    expect(await value(h, "ecs_bridge_cloudwatch_last_success_timestamp_seconds")).toBe(okAt);
    // Nothing is billed for the failed request.
    expect(await value(h, "ecs_bridge_cloudwatch_metrics_requested_total")).toBe(16);
    // Still failing when the kept point ages past the staleness limit: removed, not frozen.
    h.clock.now = (NEWEST + 901) * 1000;
    await h.exporter.collectOnce();
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([]);
  });

  it('a GetMetricData reply without MetricDataResults is a counted failure, not "no data"', async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 5), {}, { wire: true });
    await h.exporter.collectOnce();
    const okAt = await value(h, "ecs_bridge_cloudwatch_last_success_timestamp_seconds");
    expect(okAt).toBe(NOW / 1000);
    // The listing is cached, so only GetMetricData is asked; it answers 200 with a null list.
    nock.cleanAll();
    mockJson({ GetMetricData: () => ({ MetricDataResults: null }) }, "application/x-amz-json-1.0");
    h.clock.now += 60_000;
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(false);
    expect(report.scopes[0]!.errors).toEqual(["GetMetricData: MalformedResponse"]);
    expect(
      await value(h, "ecs_bridge_cloudwatch_collection_errors_total", {
        api: "GetMetricData",
        code: "MalformedResponse",
      }),
    ).toBe(1);
    expect(await value(h, "ecs_bridge_cloudwatch_last_success_timestamp_seconds")).toBe(okAt);
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(5);
  });

  it("recovers with fresh values after errors", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 5));
    await h.exporter.collectOnce();
    h.cw.failures.GetMetricData = [new AwsError("InternalFailure", "boom", 500)];
    h.clock.now += 60_000;
    await h.exporter.collectOnce();
    h.cw.series = serviceConnect("prod", "orders", "orders-http", 9);
    h.clock.now += 60_000;
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(true);
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(9);
  });

  it("does not export a point that is already stale when it arrives", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {
      BRIDGE_EXPORTER_STALENESS_SECONDS: "240",
    });
    // Only the older points of the window [11:53, 11:58) exist, all older than the 240 s staleness limit.
    h.cw.data = (s, _stat, t) => (t < NOW / 1000 - 240 ? (s.value ?? 1) : undefined);
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(true);
    expect(report.exported).toBe(0);
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([]);
  });

  it("a query result with status InternalError counts an error and keeps the last value", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 5));
    await h.exporter.collectOnce();
    h.cw.queryStatus = "InternalError";
    h.clock.now += 60_000;
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(false);
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(5);
    expect(await value(h, "ecs_bridge_cloudwatch_collection_errors_total", { code: "InternalError" })).toBe(
      16,
    );
  });
});

describe("names and labels", () => {
  it("maps both families to aws_ecs_<metric>_<stat> with their labels and HELP", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 3));
    await h.exporter.collectOnce();
    const text = await h.metrics.registry.metrics();
    const labels = 'cluster_name="prod",service_name="orders"';
    expect(text).toContain(
      `aws_ecs_request_count_sum{${labels},discovery_name="orders-http",region="us-east-1"} 3\n`,
    );
    expect(text).toContain(
      `aws_ecs_active_connection_count_average{${labels},discovery_name="orders-http",region="us-east-1"} 3.25\n`,
    );
    expect(text).toContain(
      `aws_ecs_active_connection_count_maximum{${labels},discovery_name="orders-http",region="us-east-1"} 3.5\n`,
    );
    expect(text).toContain(
      `aws_ecs_http_code_target_2xx_count_sum{${labels},target_discovery_name="orders-http",region="us-east-1"} 3\n`,
    );
    expect(text).toContain(
      `aws_ecs_target_response_time_average{${labels},target_discovery_name="orders-http",region="us-east-1"} 3.25\n`,
    );
    expect(text).toMatch(
      /# HELP aws_ecs_target_response_time_average .*TargetResponseTime.*TargetDiscoveryName.*statistic Average.*unit milliseconds/,
    );
    expect(text).toMatch(/# HELP aws_ecs_processed_bytes_sum .*ProcessedBytes.*statistic Sum.*unit bytes/);
    expect(text).toMatch(/# HELP aws_ecs_new_connection_count_sum .*NewConnectionCount.*unit count/);
    const names = [...text.matchAll(/^# TYPE (aws_ecs_\w+) /gm)].map((m) => m[1]).sort();
    expect(names).toEqual([
      "aws_ecs_active_connection_count_average",
      "aws_ecs_active_connection_count_maximum",
      "aws_ecs_client_tls_negotiation_error_count_sum",
      "aws_ecs_grpc_request_count_sum",
      "aws_ecs_http_code_target_2xx_count_sum",
      "aws_ecs_http_code_target_3xx_count_sum",
      "aws_ecs_http_code_target_4xx_count_sum",
      "aws_ecs_http_code_target_5xx_count_sum",
      "aws_ecs_new_connection_count_sum",
      "aws_ecs_processed_bytes_sum",
      "aws_ecs_request_count_per_target_sum",
      "aws_ecs_request_count_sum",
      "aws_ecs_target_processed_bytes_sum",
      "aws_ecs_target_response_time_average",
      "aws_ecs_target_response_time_maximum",
      "aws_ecs_target_tls_negotiation_error_count_sum",
    ]);
    // No timestamps: every sample line is "name{labels} value".
    for (const line of text.split("\n").filter((l) => l.startsWith("aws_ecs_")))
      expect(line).toMatch(/^aws_ecs_\w+\{[^}]*\} [0-9.e+-]+$/);
  });

  it("applies statistics overrides (SampleCount -> _sample_count)", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http", 3), {
      BRIDGE_EXPORTER_STATISTICS: "RequestCount=Sum,SampleCount;TargetResponseTime=Minimum",
    });
    await h.exporter.collectOnce();
    expect(await value(h, "aws_ecs_request_count_sum")).toBe(3);
    expect(await value(h, "aws_ecs_request_count_sample_count")).toBe(3.125);
    expect(await value(h, "aws_ecs_target_response_time_minimum")).toBe(3.75);
    expect(h.metrics.registry.getSingleMetric("aws_ecs_target_response_time_average")).toBeUndefined();
    expect(h.cw.inputs.GetMetricData.flatMap(queriesOf)).toHaveLength(16);
  });

  it("account_id comes from the scope's role ARN", async () => {
    const metrics = createSelfMetrics({ defaults: false });
    const scope: ExporterScope = {
      key: "123456789012/us-east-1",
      region: "us-east-1",
      account: { roleArn: "arn:aws:iam::123456789012:role/bridge" },
      clients: testClients(metrics),
    };
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {}, { scope });
    await h.exporter.collectOnce();
    const [s] = await samples(h, "aws_ecs_request_count_sum");
    expect(s?.labels).toMatchObject({ region: "us-east-1", account_id: "123456789012" });
  });

  it("by default a monitoring account exports only its own series (linked accounts are opt-in)", async () => {
    const h = setup([
      ...serviceConnect("prod", "orders", "orders-http", 1),
      ...serviceConnect("prod", "orders", "orders-http", 2).map((s) => ({ ...s, account: "222222222222" })),
    ]);
    h.cw.monitoringAccount = "111111111111";
    await h.exporter.collectOnce();
    for (const input of h.cw.inputs.ListMetrics) expect(input.IncludeLinkedAccounts).toBeUndefined();
    expect(await samples(h, "aws_ecs_request_count_sum")).toEqual([
      expect.objectContaining({
        labels: expect.not.objectContaining({ account_id: expect.anything() }),
        value: 1,
      }),
    ]);
    const queries = h.cw.inputs.GetMetricData.flatMap(queriesOf);
    expect(queries.filter((q) => q.AccountId !== undefined)).toEqual([]);
  });

  it("exporter.linkedAccounts: a monitoring account's source series, each queried in and labelled with its account", async () => {
    const h = setup(
      [
        ...serviceConnect("prod", "orders", "orders-http", 1),
        ...serviceConnect("prod", "orders", "orders-http", 2).map((s) => ({ ...s, account: "222222222222" })),
      ],
      { BRIDGE_EXPORTER_LINKED_ACCOUNTS: "true" },
    );
    h.cw.monitoringAccount = "111111111111";
    const report = await h.exporter.collectOnce();
    expect(report.ok).toBe(true);
    expect(h.cw.inputs.ListMetrics.length).toBeGreaterThan(0);
    for (const input of h.cw.inputs.ListMetrics) expect(input.IncludeLinkedAccounts).toBe(true);
    const byAccount = (await samples(h, "aws_ecs_request_count_sum"))
      .map((s) => [s.labels.account_id, s.value])
      .sort();
    // The same cluster/service/discovery name in two accounts: two series, told apart by account_id.
    expect(byAccount).toEqual([
      ["111111111111", 1],
      ["222222222222", 2],
    ]);
    const accounts = new Set(h.cw.inputs.GetMetricData.flatMap(queriesOf).map((q) => q.AccountId));
    expect(accounts).toEqual(new Set(["111111111111", "222222222222"]));
  });

  it("a series listed with an owning account is queried in that account", () => {
    const [series] = serviceConnect("prod", "orders", "orders-http");
    const query = toMetricDataQuery(
      {
        series: {
          metric: { name: series!.metric, family: "DiscoveryName", unit: "Count", defaultStats: ["Sum"] },
          dimensions: [],
          owningAccount: "222222222222",
        },
        stat: "Sum",
      },
      0,
      60,
    );
    expect(query.AccountId).toBe("222222222222");
  });

  it("without a role or OwningAccounts the account_id label is left out", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    await h.exporter.collectOnce();
    const [s] = await samples(h, "aws_ecs_request_count_sum");
    expect(s?.labels).not.toHaveProperty("account_id");
  });
});

describe("self-metrics and cost", () => {
  it("counts metrics requested, API requests and the estimated cost", async () => {
    const h = setup(
      [...serviceConnect("prod", "a", "a"), ...serviceConnect("prod", "b", "b")],
      {},
      { wire: true },
    );
    await h.exporter.collectOnce();
    h.clock.now += 60_000;
    await h.exporter.collectOnce();
    expect(await value(h, "ecs_bridge_cloudwatch_metrics_requested_total")).toBe(64);
    expect(
      await value(h, "ecs_bridge_aws_requests_total", { service: "cloudwatch", operation: "GetMetricData" }),
    ).toBe(2);
    expect(
      await value(h, "ecs_bridge_aws_requests_total", { service: "cloudwatch", operation: "ListMetrics" }),
    ).toBe(2);
    // $0.01 per 1,000 metrics requested; $0.01 per 1,000 ListMetrics requests.
    expect(
      await value(h, "ecs_bridge_cloudwatch_estimated_cost_usd_total", { api: "GetMetricData" }),
    ).toBeCloseTo(64 * 0.00001, 12);
    expect(
      await value(h, "ecs_bridge_cloudwatch_estimated_cost_usd_total", { api: "ListMetrics" }),
    ).toBeCloseTo(2 * 0.00001, 12);
    expect(await value(h, "ecs_bridge_cloudwatch_series")).toBe(32);
    const duration = await samples(h, "ecs_bridge_cloudwatch_collection_duration_seconds");
    expect(duration.find((s) => (s as { metricName?: string }).metricName?.endsWith("_count"))?.value).toBe(
      2,
    );
  });
});

describe("scheduling", () => {
  it("collectOnce is single-flight", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    const [a, b] = [h.exporter.collectOnce(), h.exporter.collectOnce()];
    expect(a).toBe(b);
    await a;
    expect(h.cw.calls("GetMetricData")).toBe(1);
  });

  it("rendering /metrics never calls CloudWatch", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"));
    await h.metrics.registry.metrics();
    expect(h.cw.calls("ListMetrics") + h.cw.calls("GetMetricData")).toBe(0);
    await h.exporter.collectOnce();
    const calls = h.cw.calls("GetMetricData");
    for (let i = 0; i < 3; i++) await h.metrics.registry.metrics();
    expect(h.cw.calls("GetMetricData")).toBe(calls);
  });

  it("start() collects at once and on the schedule; stop() ends it", async () => {
    const h = setup(serviceConnect("prod", "orders", "orders-http"), {
      BRIDGE_EXPORTER_SCHEDULE: "* * * * * *",
    });
    h.exporter.start();
    await expect
      .poll(() => h.cw.calls("GetMetricData"), { timeout: 5000, interval: 50 })
      .toBeGreaterThanOrEqual(2);
    await h.exporter.stop();
    const calls = h.cw.calls("GetMetricData");
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.cw.calls("GetMetricData")).toBe(calls);
  });
});

describe("configuration checks", () => {
  const make = (env: Record<string, string>) => () =>
    createExporter({
      config: testConfig({ BRIDGE_EXPORTER_ENABLED: "true", ...MINUTE_RESOLUTION, ...env }),
      scopes: [],
      metrics: createSelfMetrics({ defaults: false }),
    });

  it("rejects a staleness shorter than delay + 2 periods", () => {
    expect(make({ BRIDGE_EXPORTER_STALENESS_SECONDS: "200" })).toThrow(ConfigError);
    expect(make({ BRIDGE_EXPORTER_STALENESS_SECONDS: "200" })).toThrow(/exporter.stalenessSeconds.*240/);
    expect(make({ BRIDGE_EXPORTER_STALENESS_SECONDS: "240" })).not.toThrow();
  });

  it("rejects cluster or service filters with the 1-dimension set", () => {
    expect(make({ BRIDGE_EXPORTER_DIMENSIONS: "1", BRIDGE_EXPORTER_CLUSTERS: "prod" })).toThrow(ConfigError);
    expect(make({ BRIDGE_EXPORTER_DIMENSIONS: "1", BRIDGE_EXPORTER_DISCOVERY_NAMES: "x" })).not.toThrow();
  });

  it("rejects statistics for unknown metrics and invalid schedules", () => {
    expect(make({ BRIDGE_EXPORTER_STATISTICS: "RequestCnt=Sum" })).toThrow(/unknown metric "RequestCnt"/);
    expect(make({ BRIDGE_EXPORTER_SCHEDULE: "61 * * * *" })).toThrow(/exporter.schedule/);
  });
});
