// Self-metrics. One registry per process (or per test), passed explicitly so tests stay isolated.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const METRIC_PREFIX = "ecs_bridge_";

/**
 * prom-client defaults that are gauges named like counters, which `promtool check metrics` rejects. The same
 * counts by type stay (`nodejs_active_handles{type}` and so on): sum() over them gives the totals.
 */
const MISNAMED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export interface SelfMetrics {
  registry: Registry;
  awsRequests: Counter<"service" | "operation">;
  awsErrors: Counter<"service" | "operation" | "code">;
  awsThrottles: Counter<"service" | "operation">;
  awsTokenWait: Counter<"service" | "bucket">;
  refreshDuration: Histogram<"source">;
  refreshFailures: Counter<"source" | "unit">;
  lastSuccess: Gauge<"source">;
  targets: Gauge<"source">;
  unitUp: Gauge<"source" | "unit">;
  skipped: Gauge<"source" | "reason">;
  ecsDescribeFailures: Counter<"operation" | "reason">;
  ecsClusterAbsent: Gauge<"unit">;
  // Discovery reliability: listing scopes and the age of last-good data.
  scopeUp: Gauge<"source" | "scope">;
  unitStale: Gauge<"source" | "unit">;
}

export function createSelfMetrics(opts: { defaults?: boolean; registry?: Registry } = {}): SelfMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaults ?? true) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
  }
  const p = METRIC_PREFIX;
  return {
    registry,
    awsRequests: new Counter({
      name: `${p}aws_requests_total`,
      help: "AWS API requests sent (each retry attempt counts), by service and operation.",
      labelNames: ["service", "operation"],
      registers: [registry],
    }),
    awsErrors: new Counter({
      name: `${p}aws_errors_total`,
      help: "AWS API requests that failed, by service, operation and error code.",
      labelNames: ["service", "operation", "code"],
      registers: [registry],
    }),
    awsThrottles: new Counter({
      name: `${p}aws_throttles_total`,
      help: "AWS API requests answered with a throttling error.",
      labelNames: ["service", "operation"],
      registers: [registry],
    }),
    awsTokenWait: new Counter({
      name: `${p}aws_token_wait_seconds_total`,
      help: "Time AWS requests waited for a token of their throttling bucket (client-side pacing), by service and bucket.",
      labelNames: ["service", "bucket"],
      registers: [registry],
    }),
    refreshDuration: new Histogram({
      name: `${p}refresh_duration_seconds`,
      help: "Duration of one discovery refresh, by source.",
      labelNames: ["source"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    refreshFailures: new Counter({
      name: `${p}refresh_failures_total`,
      help: "Refreshes of a source unit (cluster, namespace) that failed; its last-good targets were kept.",
      labelNames: ["source", "unit"],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: `${p}last_success_timestamp_seconds`,
      help: "Unix time of the last refresh in which every unit and listing of the source succeeded; 0 until one does.",
      labelNames: ["source"],
      registers: [registry],
    }),
    targets: new Gauge({
      name: `${p}targets`,
      help: "Targets currently served on /sd, by source.",
      labelNames: ["source"],
      registers: [registry],
    }),
    unitUp: new Gauge({
      name: `${p}unit_up`,
      help: "1 if the last refresh of this cluster or namespace succeeded, 0 if it serves last-good targets.",
      labelNames: ["source", "unit"],
      registers: [registry],
    }),
    skipped: new Gauge({
      name: `${p}skipped`,
      help: "Tasks, containers or instances skipped in the last refresh, by reason (not errors: e.g. not RUNNING yet).",
      labelNames: ["source", "reason"],
      registers: [registry],
    }),
    ecsDescribeFailures: new Counter({
      name: `${p}ecs_describe_failures_total`,
      help: "Resources an ECS describe call answered as failures (e.g. a task gone between ListTasks and DescribeTasks), by operation and reason.",
      labelNames: ["operation", "reason"],
      registers: [registry],
    }),
    ecsClusterAbsent: new Gauge({
      name: `${p}ecs_cluster_absent`,
      help: "1 for a configured cluster that does not exist in this account/region (reported, not a failure).",
      labelNames: ["unit"],
      registers: [registry],
    }),
    scopeUp: new Gauge({
      name: `${p}scope_up`,
      help: "1 if the last listing (ListClusters, ListNamespaces) and AssumeRole of this account/region succeeded; 0 if it failed or has not run yet.",
      labelNames: ["source", "scope"],
      registers: [registry],
    }),
    unitStale: new Gauge({
      name: `${p}unit_stale`,
      help: "1 if this unit is failing and its last-good targets (still served) are older than maxStaleSeconds.",
      labelNames: ["source", "unit"],
      registers: [registry],
    }),
  };
}
