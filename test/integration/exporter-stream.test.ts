// Stream mode end to end on loopback: the simulated metric stream (sim/firehose.ts) delivers the same
// simulated data the simulated CloudWatch serves to poll mode, and /metrics carries the same Service Connect
// series, HELP and values in both modes; the bridge mounts the route in stream mode; the sender retries.
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../cmd/bridge.js";
import { createClients } from "../../core/aws.js";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics } from "../../core/metrics.js";
import { METRICS } from "../../exporter/catalog.js";
import { createExporter } from "../../exporter/index.js";
import { packDeliveries, sendDelivery, streamMinute, metricStreamUpdates } from "../../sim/firehose.js";
import { startSimAws, type SimAws } from "../../sim/server.js";
import type { MetricSeriesSpec, Scenario } from "../../sim/types.js";
import { testConfig } from "../helpers/config.js";
import { ACCESS_KEY, STREAM_PATH, startStreamApp, type StreamApp } from "../helpers/stream.js";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";
// 2024-06-01T10:00:30Z: poll mode (period 60, delay 120) exports the point of 09:57.
const T0 = Date.UTC(2024, 5, 1, 10, 0, 30);
const NEWEST = Date.UTC(2024, 5, 1, 9, 57, 0) / 1000;
const MINUTE_RESOLUTION = { BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *", BRIDGE_EXPORTER_PERIOD_SECONDS: "60" };
const ALL_STATISTICS = METRICS.map((m) => `${m.name}=Sum,Average,Maximum,Minimum,SampleCount`).join(";");

/**
 * Every Service Connect metric of two services, both dimension sets as AWS publishes them, with per-minute
 * values that differ from minute to minute and keep Average = Sum / SampleCount, as CloudWatch does.
 */
function consistentScenario(): Scenario {
  const metrics: MetricSeriesSpec[] = [];
  for (const [service, k] of [
    ["orders", 1],
    ["users", 3],
  ] as const)
    for (const m of METRICS)
      for (const dimensions of [
        { [m.family]: `${service}-http`, ServiceName: service, ClusterName: "prod" },
        { [m.family]: `${service}-http` },
      ])
        metrics.push({
          metricName: m.name,
          dimensions,
          unit: m.unit,
          value: [40 * k, 80 * k, 120 * k],
          stats: {
            SampleCount: 4,
            Average: [10 * k, 20 * k, 30 * k],
            Maximum: [50 * k, 90 * k, 130 * k],
            Minimum: [k, 2 * k, 3 * k],
          },
        });
  return { metrics };
}

let sim: SimAws | undefined;
let app: StreamApp | undefined;
let bridge: Bridge | undefined;
afterEach(async () => {
  await bridge?.close();
  await app?.close();
  await sim?.close();
  bridge = app = sim = undefined;
});

/** HELP, TYPE and sample lines of the exported Service Connect series, sorted (sample order is insertion order). */
function exported(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => /^(# (HELP|TYPE) )?aws_ecs_/.test(l))
    .sort();
}

async function pollMetrics(scenario: Scenario, env: Record<string, string>): Promise<string> {
  sim = await startSimAws({ scenario, now: () => T0 });
  const metrics = createSelfMetrics({ defaults: false });
  const clients = createClients(
    { region: "us-east-1" },
    {
      metrics,
      credentials: { accessKeyId: "t", secretAccessKey: "t" },
      maxAttempts: 1,
      env: { AWS_ENDPOINT_URL: sim.url },
    },
  );
  const exporter = createExporter({
    config: testConfig({ BRIDGE_EXPORTER_ENABLED: "true", ...MINUTE_RESOLUTION, ...env }),
    scopes: [{ key: "default/us-east-1", region: "us-east-1", clients }],
    metrics,
    now: () => T0,
  });
  expect((await exporter.collectOnce()).ok).toBe(true);
  return metrics.registry.metrics();
}

async function streamMetrics(scenario: Scenario, env: Record<string, string>): Promise<string> {
  app = await startStreamApp(env, () => T0);
  // Minutes arrive out of order and one twice, as retried and late Firehose deliveries do.
  for (const minute of [NEWEST - 120, NEWEST, NEWEST - 60, NEWEST]) {
    const results = await streamMinute(scenario, minute, {
      url: app.url,
      accessKey: ACCESS_KEY,
      recordsPerDelivery: 7,
      now: () => T0,
    });
    expect(results.map((r) => r.status).every((s) => s === 200)).toBe(true);
  }
  return app.metrics.registry.metrics();
}

describe("stream mode against the simulated metric stream", () => {
  it("serves the same /metrics series as poll mode on the same simulated data, every statistic", async () => {
    const scenario = consistentScenario();
    const env = { BRIDGE_EXPORTER_STATISTICS: ALL_STATISTICS };
    const poll = exported(await pollMetrics(scenario, env));
    const stream = exported(await streamMetrics(scenario, env));
    // 2 services x 14 metrics x 5 statistics, HELP and TYPE per name.
    expect(poll.filter((l) => !l.startsWith("#"))).toHaveLength(140);
    // 09:57 is minute 28620597, a multiple of 3: the first value of each list, times 3 for users.
    expect(poll).toContain(
      'aws_ecs_request_count_average{cluster_name="prod",service_name="users",discovery_name="users-http",region="us-east-1"} 30',
    );
    expect(stream).toEqual(poll);
  });

  it("serves the same series for the simulator's Service Connect generator with the default statistics but Average", async () => {
    // The generator's Average is not Sum / SampleCount (a simulator shortcut), so Average is compared above.
    const scenario: Scenario = {
      serviceConnect: [
        { cluster: "prod", service: "orders", discoveryName: "orders-http" },
        { cluster: "prod", service: "users", discoveryName: "users-http", scale: 2 },
      ],
    };
    const env = {
      BRIDGE_EXPORTER_STATISTICS: "ActiveConnectionCount=Maximum;TargetResponseTime=Maximum,Minimum",
    };
    const poll = exported(await pollMetrics(scenario, env));
    expect(poll.filter((l) => !l.startsWith("#"))).toHaveLength(30);
    expect(exported(await streamMetrics(scenario, env))).toEqual(poll);
    // Both dimension sets were streamed; the 1-dimension set was dropped, counted by reason.
    const rejected = await app!.metrics.registry
      .getSingleMetric("ecs_bridge_stream_updates_rejected_total")!
      .get();
    const byReason = Object.fromEntries(rejected.values.map((v) => [v.labels.reason, v.value]));
    // The late 09:56 delivery was refused; the repeated 09:57 one sets the same point again.
    expect(byReason).toEqual({ dimension_set: 4 * 28, out_of_order: 28 });
  });

  it("stream-mode output passes promtool check metrics", async () => {
    await streamMetrics(consistentScenario(), { BRIDGE_EXPORTER_STATISTICS: ALL_STATISTICS });
    // One refused delivery, so the rejection counters carry samples too.
    const [d] = packDeliveries(metricStreamUpdates(consistentScenario(), NEWEST), { now: () => T0 });
    expect(
      (await sendDelivery(d!, { url: app!.url, accessKey: "wrong-key-wrong-key", maxAttempts: 1 })).status,
    ).toBe(401);
    const text = await app!.metrics.registry.metrics();
    expect(text).toContain("ecs_bridge_stream_estimated_cost_usd_total ");
    const res = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    if (res.error)
      throw new Error(`cannot run ${PROMTOOL} (${res.error.message}); install prometheus or set PROMTOOL`);
    expect(`${res.stdout}${res.stderr}`).toBe("");
    expect(res.status).toBe(0);
  });

  it("the sender retries a non-200 answer with the same request id until it is delivered", async () => {
    const attempts = new Map<string, number>();
    app = await startStreamApp(
      {},
      () => T0,
      (req, res, next) => {
        const id = req.get("x-amz-firehose-request-id") ?? "";
        attempts.set(id, (attempts.get(id) ?? 0) + 1);
        if (attempts.get(id) === 1)
          return void res.status(503).json({ requestId: id, timestamp: T0, errorMessage: "busy" });
        next();
      },
    );
    const results = await streamMinute(consistentScenario(), NEWEST, {
      url: app.url,
      accessKey: ACCESS_KEY,
      retryDelayMs: 1,
      now: () => T0,
    });
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r).toMatchObject({ status: 200, attempts: 2 });
    // 2 services x 16 (series x default statistic).
    expect(app.ingest.size).toBe(2 * 16);
  });

  it("the bridge in stream mode mounts the route, makes no CloudWatch call, and serves the series on /metrics", async () => {
    bridge = await startBridge({
      config: testConfig({
        BRIDGE_LISTEN_HOST: "127.0.0.1",
        BRIDGE_LISTEN_PORT: "0",
        BRIDGE_ECS_ENABLED: "false",
        BRIDGE_EXPORTER_ENABLED: "true",
        BRIDGE_EXPORTER_MODE: "stream",
        BRIDGE_EXPORTER_STREAM_ACCESS_KEY: ACCESS_KEY,
      }),
      logger: silentLogger,
      defaultMetrics: false,
      schedule: true,
    });
    expect(bridge.exporter).toBeUndefined();
    const minute = Math.floor(Date.now() / 60_000) * 60 - 60;
    const results = await streamMinute(consistentScenario(), minute, {
      url: `${bridge.url}${STREAM_PATH}`,
      accessKey: ACCESS_KEY,
    });
    expect(results.every((r) => r.status === 200)).toBe(true);
    const body = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(body).toMatch(
      /^aws_ecs_request_count_sum\{cluster_name="prod",service_name="orders",discovery_name="orders-http",region="us-east-1"\} \d+/m,
    );
    expect(body).not.toMatch(/^ecs_bridge_cloudwatch_metrics_requested_total/m);
    expect((await fetch(`${bridge.url}${STREAM_PATH}`, { method: "POST" })).status).toBe(401);
  });
});
