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
  targetsMerged: Gauge;
  unitUp: Gauge<"source" | "unit">;
  skipped: Gauge<"source" | "reason">;
  ecsDescribeFailures: Counter<"operation" | "reason">;
  ecsClusterAbsent: Gauge<"unit">;
  // Discovery reliability: listing scopes and the age of last-good data.
  scopeUp: Gauge<"source" | "scope">;
  unitStale: Gauge<"source" | "unit">;
  // Event-driven ECS discovery (ecs.events).
  ecsEventsReceived: Counter;
  ecsEvents: Counter<"outcome">;
  ecsEventsLag: Gauge;
  ecsReconcileRepairs: Counter<"action">;
}

/** What became of a received ECS task state change event. */
export const ECS_EVENT_OUTCOMES = ["applied", "stale", "duplicate", "ignored"] as const;

export function createSelfMetrics(opts: { defaults?: boolean; registry?: Registry } = {}): SelfMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaults ?? true) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
  }
  const p = METRIC_PREFIX;
  const metrics: SelfMetrics = {
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
      help:
        "Refreshes of a source unit (cluster, namespace) that failed, on its own or because its account/region listing failed; its last-good targets were kept. " +
        'A failed listing also counts under `unit="<account>/<region>/"`, a source failed as a whole under `unit="*"`.',
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
      help: "Targets each source found; one that two sources list at the same endpoint counts for both and is served once.",
      labelNames: ["source"],
      registers: [registry],
    }),
    targetsMerged: new Gauge({
      name: `${p}targets_merged`,
      help: "Targets folded into another target with the same address and metrics path, usually of another source (/sd serves sum(ecs_bridge_targets) minus this).",
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
      help:
        "Tasks, containers or instances skipped in the last refresh, by reason (mostly not errors: e.g. not RUNNING yet). " +
        "`no_opt_in`: containers without an opt-in (docker label or named port). " +
        "`task_definition_unavailable`: tasks whose task definition could not be described (deleted, throttled); only they are skipped. A throttled or failed call is made again on the next refresh; a definition ECS refuses to describe (deleted) is asked for again after 5 minutes, the wait doubling up to 30 minutes while it stays refused.",
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
    ecsEventsReceived: new Counter({
      name: `${p}ecs_events_received_total`,
      help: "ECS task state change events received from SQS (ecs.events).",
      registers: [registry],
    }),
    ecsEvents: new Counter({
      name: `${p}ecs_events_total`,
      help: "ECS task state change events by outcome: applied, stale (older than a version already applied), duplicate (same version), ignored (not a task of a followed cluster, or not a task state change).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    ecsEventsLag: new Gauge({
      name: `${p}ecs_events_lag_seconds`,
      help: "Age (since SQS received it) of the oldest message in the last batch of applied ECS events.",
      registers: [registry],
    }),
    ecsReconcileRepairs: new Counter({
      name: `${p}ecs_reconcile_repairs_total`,
      help: "Tasks the ECS reconcile (the full ListTasks walk in events mode) had to add or remove because events missed them; should stay 0.",
      labelNames: ["action"],
      registers: [registry],
    }),
  };
  // Series exist from the start, so increase() sees the first event and the dashboard has every label.
  for (const outcome of ECS_EVENT_OUTCOMES) metrics.ecsEvents.inc({ outcome }, 0);
  for (const action of ["added", "removed"]) metrics.ecsReconcileRepairs.inc({ action }, 0);
  return metrics;
}
