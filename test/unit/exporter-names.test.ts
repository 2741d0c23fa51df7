import { describe, expect, it } from "vitest";
import { METRICS, resolveStatistics } from "../../exporter/catalog.js";
import { alignWindow } from "../../exporter/collect.js";
import { collectionsPerDay, estimateMonthlyCost } from "../../exporter/cost.js";
import { promName, seriesLabels, snakeCase } from "../../exporter/names.js";

describe("names", () => {
  it("maps every Service Connect metric to the snake_case names users know", () => {
    expect(Object.fromEntries(METRICS.map((m) => [m.name, snakeCase(m.name)]))).toEqual({
      ActiveConnectionCount: "active_connection_count",
      NewConnectionCount: "new_connection_count",
      ProcessedBytes: "processed_bytes",
      RequestCount: "request_count",
      GrpcRequestCount: "grpc_request_count",
      ClientTLSNegotiationErrorCount: "client_tls_negotiation_error_count",
      HTTPCode_Target_2XX_Count: "http_code_target_2xx_count",
      HTTPCode_Target_3XX_Count: "http_code_target_3xx_count",
      HTTPCode_Target_4XX_Count: "http_code_target_4xx_count",
      HTTPCode_Target_5XX_Count: "http_code_target_5xx_count",
      RequestCountPerTarget: "request_count_per_target",
      TargetProcessedBytes: "target_processed_bytes",
      TargetResponseTime: "target_response_time",
      TargetTLSNegotiationErrorCount: "target_tls_negotiation_error_count",
    });
  });

  it("appends the statistic", () => {
    expect(promName("RequestCount", "Sum")).toBe("aws_ecs_request_count_sum");
    expect(promName("TargetResponseTime", "Average")).toBe("aws_ecs_target_response_time_average");
    expect(promName("HTTPCode_Target_2XX_Count", "Sum")).toBe("aws_ecs_http_code_target_2xx_count_sum");
    expect(promName("ActiveConnectionCount", "Maximum")).toBe("aws_ecs_active_connection_count_maximum");
    expect(promName("RequestCount", "SampleCount")).toBe("aws_ecs_request_count_sample_count");
  });

  it("builds labels in a fixed order and leaves empty ones out", () => {
    const labels = seriesLabels(
      { ClusterName: "prod", TargetDiscoveryName: "api", ServiceName: "orders" },
      "eu-west-1",
      "123456789012",
    );
    expect(Object.entries(labels)).toEqual([
      ["cluster_name", "prod"],
      ["service_name", "orders"],
      ["target_discovery_name", "api"],
      ["region", "eu-west-1"],
      ["account_id", "123456789012"],
    ]);
    expect(seriesLabels({ DiscoveryName: "api" }, "eu-west-1", undefined)).toEqual({
      discovery_name: "api",
      region: "eu-west-1",
    });
  });
});

describe("statistics", () => {
  it("defaults: Sum for counts and bytes, Average and Maximum for connections and response time", () => {
    const stats = resolveStatistics({});
    expect(stats.get("RequestCount")).toEqual(["Sum"]);
    expect(stats.get("ProcessedBytes")).toEqual(["Sum"]);
    expect(stats.get("ActiveConnectionCount")).toEqual(["Average", "Maximum"]);
    expect(stats.get("TargetResponseTime")).toEqual(["Average", "Maximum"]);
    const perSeries = [...stats.values()].reduce((n, s) => n + s.length, 0);
    expect(perSeries).toBe(16);
  });

  it("overrides replace the defaults of one metric and drop duplicates", () => {
    const stats = resolveStatistics({ TargetResponseTime: ["Maximum", "Maximum", "Minimum"] });
    expect(stats.get("TargetResponseTime")).toEqual(["Maximum", "Minimum"]);
    expect(stats.get("RequestCount")).toEqual(["Sum"]);
  });
});

describe("window", () => {
  it("ends at floor((now - delay) / period) * period and spans five minutes, at least two periods", () => {
    const t = (iso: string) => Date.parse(iso);
    const s = (iso: string) => Date.parse(iso) / 1000;
    expect(alignWindow(t("2024-01-01T12:00:30Z"), 60, 120)).toEqual({
      start: s("2024-01-01T11:53:00Z"),
      end: s("2024-01-01T11:58:00Z"),
    });
    expect(alignWindow(t("2024-01-01T12:00:00Z"), 60, 120).end).toBe(s("2024-01-01T11:58:00Z"));
    expect(alignWindow(t("2024-01-01T11:59:59.999Z"), 60, 120).end).toBe(s("2024-01-01T11:57:00Z"));
    expect(alignWindow(t("2024-01-01T12:07:10Z"), 300, 0)).toEqual({
      start: s("2024-01-01T11:55:00Z"),
      end: s("2024-01-01T12:05:00Z"),
    });
  });
});

describe("cost model", () => {
  it("counts collections per day from the cron schedule", () => {
    expect(collectionsPerDay("*/1 * * * *")).toBe(1440);
    expect(collectionsPerDay("*/5 * * * *")).toBe(288);
    expect(collectionsPerDay("*/30 * * * * *")).toBe(2880);
    expect(collectionsPerDay("0 * * * *")).toBe(24);
  });

  it("prices GetMetricData per metric and ListMetrics per request", () => {
    const c = estimateMonthlyCost({
      metricsPerCollection: 1000,
      listMetricsRequestsPerRefresh: 2,
      collectionsPerDay: 1440,
      listMetricsTtlSeconds: 900,
    });
    // 1000 metrics x 1440/day x 730/24 days x $0.01/1000.
    expect(c.getMetricDataUsd).toBeCloseTo(1000 * 1440 * (730 / 24) * 0.00001, 6);
    // One refresh every 15 collections, 2 requests each.
    expect(c.listMetricsRequestsPerMonth).toBeCloseTo(((2 * 1440) / 15) * (730 / 24), 6);
  });
});
