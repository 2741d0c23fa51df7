// The Service Connect CloudWatch exporter: on its own node-cron schedule (never on the scrape path) it lists
// series (cached), fetches their newest points with GetMetricData and keeps them in gauges on the bridge's
// registry until they go stale. Failures keep the last values; nothing is ever frozen or turned into 0.
import cron, { type ScheduledTask } from "node-cron";
import type { Registry } from "prom-client";
import type { Config } from "../cmd/config.js";
import { limited } from "../core/limit.js";
import { silentLogger, type Logger } from "../core/log.js";
import { parseArn } from "../sd/model.js";
import { cloudWatchApi, type CloudWatchApi, type ExporterScope } from "./api.js";
import { resolveStatistics } from "./catalog.js";
import { alignWindow, buildQueries, fetchBatch, toBatches, type Window } from "./collect.js";
import { GET_METRIC_DATA_USD_PER_METRIC, LIST_METRICS_USD_PER_REQUEST } from "./cost.js";
import { SeriesCatalog, dimensionMap } from "./discovery.js";
import { API, CODE, SCOPE, helpText, promName, seriesLabels } from "./names.js";
import { createExporterMetrics } from "./selfmetrics.js";
import { SeriesStore } from "./series.js";

export type { CloudWatchApi, ExporterScope } from "./api.js";
export { createStreamIngest, type StreamIngest } from "./stream/index.js";

export interface ExporterOptions {
  config: Pick<Config, "exporter"> & { aws?: Pick<Config["aws"], "maxConcurrency"> };
  scopes: readonly ExporterScope[];
  /** The bridge's self-metrics (or anything with its registry): exported series and self-metrics go there. */
  metrics: { registry: Registry };
  logger?: Logger;
  /** Clock in Unix ms (tests inject it to pin the window). */
  now?: () => number;
  /** CloudWatch API per scope; default: the scope's SDK client. The cost benchmark counts calls through it. */
  api?: (scope: ExporterScope) => CloudWatchApi;
}

export interface ScopeReport {
  scope: string;
  ok: boolean;
  /** Series from ListMetrics (cached or fresh) after the dimension set and the filters. */
  series: number;
  /** GetMetricData queries (= metrics requested) sent, pages included. */
  metricsRequested: number;
  getMetricDataRequests: number;
  listMetricsRequests: number;
  /** Series whose exported value was set from this collection. */
  updated: number;
  errors: string[];
}

export interface CollectionReport {
  ok: boolean;
  window: Window;
  scopes: ScopeReport[];
  /** Series exported after this collection. */
  exported: number;
  /** Series removed as stale by this collection. */
  removed: number;
}

export interface Exporter {
  /** One collection now; concurrent callers share the one in flight. */
  collectOnce(): Promise<CollectionReport>;
  /** Collects now, then on exporter.schedule. */
  start(): void;
  stop(): Promise<void>;
}

export function createExporter(opts: ExporterOptions): Exporter {
  const cfg = opts.config.exporter;
  const stats = resolveStatistics(cfg.statistics);
  const now = opts.now ?? Date.now;
  const logger = opts.logger ?? silentLogger;
  const concurrency = opts.config.aws?.maxConcurrency ?? 4;
  // One limiter per account and region (aws.maxConcurrency), shared by every collection of that scope.
  const apis = new Map(
    opts.scopes.map((scope) => {
      const api = opts.api?.(scope) ?? cloudWatchApi(scope.clients.cloudwatch);
      return [scope, limited(api, concurrency)];
    }),
  );
  const m = createExporterMetrics(opts.metrics.registry);
  const store = new SeriesStore(opts.metrics.registry, cfg.stalenessSeconds * 1000, now);
  const catalog = new SeriesCatalog(
    {
      dimensions: cfg.dimensions,
      clusters: cfg.clusters,
      services: cfg.services,
      discoveryNames: cfg.discoveryNames,
      linkedAccounts: cfg.linkedAccounts,
    },
    cfg.listMetricsTtlSeconds * 1000,
    now,
  );
  let inFlight: Promise<CollectionReport> | undefined;
  let task: ScheduledTask | undefined;

  async function collectScope(scope: ExporterScope, window: Window): Promise<ScopeReport> {
    const report: ScopeReport = {
      scope: scope.key,
      ok: true,
      series: 0,
      metricsRequested: 0,
      getMetricDataRequests: 0,
      listMetricsRequests: 0,
      updated: 0,
      errors: [],
    };
    const fail = (api: string, err: unknown): void => {
      const code = (err as { name?: string }).name ?? "Error";
      report.ok = false;
      report.errors.push(`${api}: ${code}`);
      m.collectionErrors.inc({ [SCOPE]: scope.key, [API]: api, [CODE]: code });
      logger.warn("cloudwatch call failed; keeping last values until stale", {
        scope: scope.key,
        api,
        error: code,
        message: (err as Error).message,
      });
    };
    const api = apis.get(scope)!;
    const onList = (): void => {
      report.listMetricsRequests++;
      m.estimatedCost.inc({ [SCOPE]: scope.key, [API]: "ListMetrics" }, LIST_METRICS_USD_PER_REQUEST);
    };
    let listing;
    try {
      listing = await catalog.get(scope.key, api, onList);
    } catch (err) {
      fail("ListMetrics", err);
      return report;
    }
    if (listing.error) fail("ListMetrics", listing.error);
    report.series = listing.series.length;
    const scopeAccount = scope.account ? parseArn(scope.account.roleArn)?.accountId : undefined;
    const onData = (queries: number): void => {
      report.getMetricDataRequests++;
      report.metricsRequested += queries;
      m.metricsRequested.inc({ [SCOPE]: scope.key }, queries);
      m.estimatedCost.inc(
        { [SCOPE]: scope.key, [API]: "GetMetricData" },
        queries * GET_METRIC_DATA_USD_PER_METRIC,
      );
    };
    // Batches go out together; the scope's limiter keeps at most aws.maxConcurrency of them in flight.
    const batches = toBatches(buildQueries(listing.series, stats));
    const results = await Promise.allSettled(
      batches.map((batch) => fetchBatch(api, batch, window, cfg.periodSeconds, onData)),
    );
    results.forEach((settled, i) => {
      if (settled.status === "rejected") return fail("GetMetricData", settled.reason);
      const result = settled.value;
      const batch = batches[i]!;
      for (const code of result.queryErrors)
        fail("GetMetricData", { name: code, message: "query result status" });
      for (const [index, point] of result.points) {
        const q = batch[index]!;
        const labels = seriesLabels(
          dimensionMap(q.series.dimensions),
          scope.region,
          q.series.owningAccount ?? scopeAccount,
        );
        const name = promName(q.series.metric.name, q.stat);
        if (store.update(name, helpText(q.series.metric, q.stat, cfg.periodSeconds), labels, point))
          report.updated++;
      }
    });
    return report;
  }

  async function run(): Promise<CollectionReport> {
    const endTimer = m.collectionDuration.startTimer();
    const window = alignWindow(now(), cfg.periodSeconds, cfg.delaySeconds);
    // Scopes run side by side: each is bounded by its own limiter, as CloudWatch's quotas are per account and region.
    const scopes = await Promise.all(opts.scopes.map((s) => collectScope(s, window)));
    const removed = store.expire();
    endTimer();
    const ok = scopes.every((s) => s.ok);
    m.series.set(store.size);
    if (ok) m.lastSuccess.set(now() / 1000);
    logger.debug("cloudwatch collection done", { ok, exported: store.size, removed });
    return { ok, window, scopes, exported: store.size, removed };
  }

  const collectOnce = (): Promise<CollectionReport> => {
    inFlight ??= run().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const scheduled = async (): Promise<void> => {
    try {
      await collectOnce();
    } catch (err) {
      logger.error("cloudwatch collection crashed", { err });
    }
  };

  return {
    collectOnce,
    start() {
      if (task) return;
      void scheduled();
      task = cron.schedule(cfg.schedule, scheduled, { name: "cloudwatch-exporter", noOverlap: true });
    },
    async stop() {
      await task?.destroy();
      task = undefined;
      await inFlight?.catch(() => {});
    },
  };
}
