// Exporter self-metrics, on the bridge's registry next to core/metrics.ts. Requests per API come from the
// client factory (ecs_bridge_aws_requests_total{service="cloudwatch",operation}); these add what only the
// exporter knows. Get-or-create, so a second exporter on one registry (tests, library use) does not throw.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { METRIC_PREFIX } from "../core/metrics.js";
import { API, CODE, SCOPE } from "./names.js";

export interface ExporterMetrics {
  metricsRequested: Counter<typeof SCOPE>;
  estimatedCost: Counter<typeof SCOPE | typeof API>;
  collectionErrors: Counter<typeof SCOPE | typeof API | typeof CODE>;
  collectionDuration: Histogram<string>;
  lastSuccess: Gauge<string>;
  series: Gauge<string>;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createExporterMetrics(registry: Registry): ExporterMetrics {
  const p = `${METRIC_PREFIX}cloudwatch_`;
  const registers = [registry];
  return {
    metricsRequested: getOrCreate(
      registry,
      `${p}metrics_requested_total`,
      () =>
        new Counter({
          name: `${p}metrics_requested_total`,
          help: "Metrics requested from CloudWatch GetMetricData (queries per request, pages included): the billed unit.",
          labelNames: [SCOPE],
          registers,
        }),
    ),
    estimatedCost: getOrCreate(
      registry,
      `${p}estimated_cost_usd_total`,
      () =>
        new Counter({
          name: `${p}estimated_cost_usd_total`,
          help: "Estimated CloudWatch API cost in USD at list price: GetMetricData 0.01 per 1000 metrics requested, ListMetrics 0.01 per 1000 requests.",
          labelNames: [SCOPE, API],
          registers,
        }),
    ),
    collectionErrors: getOrCreate(
      registry,
      `${p}collection_errors_total`,
      () =>
        new Counter({
          name: `${p}collection_errors_total`,
          help: "Failed CloudWatch calls or query results during collection (after SDK retries); affected series keep their last values until stale.",
          labelNames: [SCOPE, API, CODE],
          registers,
        }),
    ),
    collectionDuration: getOrCreate(
      registry,
      `${p}collection_duration_seconds`,
      () =>
        new Histogram({
          name: `${p}collection_duration_seconds`,
          help: "Duration of one CloudWatch collection over every account and region.",
          buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
          registers,
        }),
    ),
    lastSuccess: getOrCreate(
      registry,
      `${p}last_success_timestamp_seconds`,
      () =>
        new Gauge({
          name: `${p}last_success_timestamp_seconds`,
          help: "Unix time of the last CloudWatch collection in which every call succeeded.",
          registers,
        }),
    ),
    series: getOrCreate(
      registry,
      `${p}series`,
      () =>
        new Gauge({
          name: `${p}series`,
          help: "CloudWatch series currently exported (after staleness removal).",
          registers,
        }),
    ),
  };
}
