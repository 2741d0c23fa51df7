// Benchmark: CloudWatch calls and cost of the Service Connect exporter. Runs the real exporter code against
// an in-process CloudWatch that answers like AWS (500 metrics per ListMetrics page, both families published
// with 1 and 3 dimensions) and counts what the exporter sends; the monthly figure follows from those counts.
import { pathToFileURL } from "node:url";
import { loadConfig } from "../cmd/config.js";
import { createSelfMetrics } from "../core/metrics.js";
import type { CloudWatchApi, ExporterScope } from "../exporter/api.js";
import { METRICS, NAMESPACE } from "../exporter/catalog.js";
import { collectionsPerDay, estimateMonthlyCost, type CostEstimate } from "../exporter/cost.js";
import { createExporter } from "../exporter/index.js";

export interface ExporterCostFigures {
  services: number;
  schedule: string;
  /** Series listed by ListMetrics (both dimension sets) and kept (configured set). */
  listedSeries: number;
  exportedSeries: number;
  metricsPerCollection: number;
  getMetricDataCallsPerCollection: number;
  listMetricsRequestsPerRefresh: number;
  collectionsPerDay: number;
  /** Cost counter after one collection without a ListMetrics refresh. */
  estimatedCostPerCollectionUsd: number;
  monthly: CostEstimate;
}

interface Listed {
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
}

/** Every series ECS publishes for `services` services with one Service Connect discovery name each. */
function publishedSeries(services: number): Listed[] {
  const out: Listed[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    for (const m of METRICS) {
      out.push({ MetricName: m.name, Dimensions: [{ Name: m.family, Value: name }] });
      out.push({
        MetricName: m.name,
        Dimensions: [
          { Name: m.family, Value: name },
          { Name: "ServiceName", Value: name },
          { Name: "ClusterName", Value: "prod" },
        ],
      });
    }
  }
  return out;
}

function inProcessCloudWatch(
  series: Listed[],
  counts: Record<string, number>,
  nowMs: () => number,
): CloudWatchApi {
  return {
    async listMetrics(input, onPage) {
      const family = input.Dimensions?.[0]?.Name;
      const matching = series.filter((s) => s.Dimensions.some((d) => d.Name === family));
      // 500 metrics per page, as AWS answers; an empty listing is still one request.
      let start = 0;
      do {
        counts.ListMetrics = (counts.ListMetrics ?? 0) + 1;
        onPage({ Metrics: matching.slice(start, start + 500).map((s) => ({ Namespace: NAMESPACE, ...s })) });
        start += 500;
      } while (start < matching.length);
    },
    async getMetricData(input, onPage) {
      counts.GetMetricData = (counts.GetMetricData ?? 0) + 1;
      const queries = input.MetricDataQueries ?? [];
      if (queries.length > 500) throw new Error("more than 500 queries");
      const t = new Date(Math.floor(nowMs() / 60_000) * 60_000 - 180_000);
      onPage({
        MetricDataResults: queries.map((q) => ({
          Id: q.Id,
          Timestamps: [t],
          Values: [1],
          StatusCode: "Complete",
        })),
      });
    },
  };
}

export async function measureExporterCost(
  opts: { services?: number; env?: Record<string, string> } = {},
): Promise<ExporterCostFigures> {
  const services = opts.services ?? 20;
  const config = loadConfig({
    env: { AWS_REGION: "us-east-1", BRIDGE_EXPORTER_ENABLED: "true", ...opts.env },
  });
  const metrics = createSelfMetrics({ defaults: false });
  const series = publishedSeries(services);
  const counts: Record<string, number> = {};
  let now = Date.UTC(2025, 0, 1, 12, 0, 5);
  // No SDK client: every call goes through the in-process API below.
  const scope = { key: "default/us-east-1", region: "us-east-1" } as ExporterScope;
  const exporter = createExporter({
    config,
    scopes: [scope],
    metrics,
    now: () => now,
    api: () => inProcessCloudWatch(series, counts, () => now),
  });
  const first = await exporter.collectOnce();
  const listMetricsRequestsPerRefresh = counts.ListMetrics ?? 0;
  // A steady-state collection one period later: the listing comes from the cache.
  now += config.exporter.periodSeconds * 1000;
  const before = { ...counts };
  const costBefore = await costCounter(metrics.registry);
  const second = await exporter.collectOnce();
  const estimatedCostPerCollectionUsd = (await costCounter(metrics.registry)) - costBefore;
  const getMetricDataCallsPerCollection = (counts.GetMetricData ?? 0) - (before.GetMetricData ?? 0);
  const metricsPerCollection = second.scopes[0]!.metricsRequested;
  const perDay = collectionsPerDay(config.exporter.schedule);
  return {
    services,
    schedule: config.exporter.schedule,
    listedSeries: series.length,
    exportedSeries: first.exported,
    metricsPerCollection,
    getMetricDataCallsPerCollection,
    listMetricsRequestsPerRefresh,
    collectionsPerDay: perDay,
    estimatedCostPerCollectionUsd,
    monthly: estimateMonthlyCost({
      metricsPerCollection,
      listMetricsRequestsPerRefresh,
      collectionsPerDay: perDay,
      listMetricsTtlSeconds: config.exporter.listMetricsTtlSeconds,
    }),
  };
}

async function costCounter(registry: import("prom-client").Registry): Promise<number> {
  const m = registry.getSingleMetric("ecs_bridge_cloudwatch_estimated_cost_usd_total");
  const values = (await m?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows: [string, Record<string, string>][] = [
    ["defaults", {}],
    [
      "one-minute resolution (schedule */1, period 60)",
      {
        BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *",
        BRIDGE_EXPORTER_PERIOD_SECONDS: "60",
      },
    ],
  ];
  for (const [label, env] of rows) {
    const f = await measureExporterCost({ services: 20, env });
    process.stdout.write(
      `${label}: 20 services, schedule "${f.schedule}": ${f.exportedSeries} series, ` +
        `${f.metricsPerCollection} metrics and ${f.getMetricDataCallsPerCollection} GetMetricData call(s) per collection, ` +
        `${f.listMetricsRequestsPerRefresh} ListMetrics requests per refresh, ${f.collectionsPerDay} collections/day, ` +
        `~$${f.monthly.totalUsd.toFixed(2)}/month (GetMetricData $${f.monthly.getMetricDataUsd.toFixed(2)}, ` +
        `ListMetrics $${f.monthly.listMetricsUsd.toFixed(2)})\n`,
    );
  }
}
