// The real exposition of a registry carrying exported CloudWatch series and every exporter self-metric
// must pass `promtool check metrics` (parse errors and lint warnings alike) with no output at all.
import { spawnSync } from "node:child_process";
import nock from "nock";
import { afterEach, beforeAll, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { createExporter } from "../../exporter/index.js";
import { AwsError } from "../helpers/aws-nock.js";
import { testConfig } from "../helpers/config.js";
import { FakeCloudWatch, serviceConnect, testScope } from "./exporter-fake.js";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

it("the exporter's /metrics output passes promtool check metrics", async () => {
  const metrics = createSelfMetrics({ defaults: false });
  const cw = new FakeCloudWatch();
  cw.serve();
  cw.series = [
    ...serviceConnect("prod", "orders", "orders-http", 12),
    ...serviceConnect("prod", "users", "users-grpc", 3),
  ];
  let now = Date.UTC(2024, 0, 1, 12, 0, 30);
  const exporter = createExporter({
    // Every statistic, so names ending in _sum, _sample_count, _average, _maximum, _minimum all appear.
    config: testConfig({
      BRIDGE_EXPORTER_ENABLED: "true",
      BRIDGE_EXPORTER_STATISTICS: "RequestCount=Sum,SampleCount,Average,Maximum,Minimum",
    }),
    scopes: [testScope(metrics)],
    metrics,
    now: () => now,
  });
  await exporter.collectOnce();
  // One failed collection so the error counters carry samples too.
  cw.failures.GetMetricData = [new AwsError("InternalFailure", "boom", 500)];
  now += 60_000;
  await exporter.collectOnce();
  const text = await metrics.registry.metrics();
  expect(text).toContain("aws_ecs_request_count_sample_count{");
  expect(text).toContain("ecs_bridge_cloudwatch_collection_errors_total{");

  const res = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  if (res.error)
    throw new Error(
      `cannot run ${PROMTOOL} (${res.error.message}); install it (Debian/Ubuntu: apt-get install prometheus) or set PROMTOOL`,
    );
  expect(`${res.stdout}${res.stderr}`).toBe("");
  expect(res.status).toBe(0);
});
