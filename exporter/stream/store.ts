// Metric stream updates -> the exporter's series. A stream sends every metric of the included namespace with
// every dimension combination; only the Service Connect series poll mode would export are kept, under the
// same names, labels and HELP (exporter/names.ts), in the same store (exporter/series.ts), so a dashboard
// cannot tell the modes apart. The store keeps the newest timestamp per series: a duplicate or late update
// never moves a value back in time.
import type { Registry } from "prom-client";
import { FAMILIES, NAMESPACE, findMetric, type MetricSpec, type Statistic } from "../catalog.js";
import { selectSeries, type SeriesFilter } from "../discovery.js";
import { helpText, promName, seriesLabels } from "../names.js";
import { SeriesStore } from "../series.js";
import type { MetricUpdate } from "./decode.js";

/** Metric streams send one-minute aggregates: poll mode with exporter.periodSeconds 60 gives the same values. */
export const STREAM_PERIOD_SECONDS = 60;

/** An update newer than this is a broken clock, not data: kept, it would pin its series until then. */
const MAX_FUTURE_MS = 5 * 60_000;

export const REJECT_REASONS = [
  "namespace",
  "metric",
  "dimension_set",
  "stale",
  "future",
  "out_of_order",
  "no_samples",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

type Values = MetricUpdate["value"];

/** How each statistic poll mode can export is read from one update (sum, min, max and count together). */
const STATISTIC_VALUE: Record<Statistic, (v: Values) => number | undefined> = {
  Sum: (v) => v.sum,
  Average: (v) => (v.count > 0 ? v.sum / v.count : undefined),
  Maximum: (v) => v.max,
  Minimum: (v) => v.min,
  SampleCount: (v) => v.count,
};

export interface StreamSeriesOptions {
  filter: SeriesFilter;
  /** Statistics per metric name, as poll mode resolves them (catalog.resolveStatistics). */
  statistics: ReadonlyMap<string, readonly Statistic[]>;
  stalenessMs: number;
  now: () => number;
  /** Accounts whose series carry account_id: the accounts poll mode reads through a role (see docs). */
  labelledAccounts: ReadonlySet<string>;
}

export class StreamSeries {
  private readonly store: SeriesStore;

  constructor(
    registry: Registry,
    private readonly opts: StreamSeriesOptions,
  ) {
    this.store = new SeriesStore(registry, opts.stalenessMs, opts.now);
  }

  /** The metric of one update when poll mode would export its dimension set, or why not. */
  private select(u: MetricUpdate): MetricSpec | RejectReason {
    if (u.namespace !== NAMESPACE) return "namespace";
    const dimensions = Object.entries(u.dimensions).map(([Name, Value]) => ({ Name, Value }));
    let known = false;
    for (const family of FAMILIES) {
      if (!findMetric(family, u.metric_name)) continue;
      known = true;
      const spec = selectSeries(family, u.metric_name, dimensions, this.opts.filter);
      if (spec) return spec;
    }
    return known ? "dimension_set" : "metric";
  }

  /** Applies one update; returns undefined when it set at least one series, else the reason it did not. */
  apply(u: MetricUpdate): RejectReason | undefined {
    const spec = this.select(u);
    if (typeof spec === "string") return spec;
    const age = this.opts.now() - u.timestamp;
    if (age > this.opts.stalenessMs) return "stale";
    if (age < -MAX_FUTURE_MS) return "future";
    const account = this.opts.labelledAccounts.has(u.account_id) ? u.account_id : undefined;
    const labels = seriesLabels(u.dimensions, u.region, account);
    let settable = false;
    let applied = false;
    for (const stat of this.opts.statistics.get(spec.name) ?? []) {
      const value = STATISTIC_VALUE[stat](u.value);
      if (value === undefined) continue;
      settable = true;
      const help = helpText(spec, stat, STREAM_PERIOD_SECONDS);
      if (this.store.update(promName(spec.name, stat), help, labels, { timestamp: u.timestamp, value }))
        applied = true;
    }
    if (!settable) return "no_samples";
    return applied ? undefined : "out_of_order";
  }

  /** Drops series without an update within the staleness limit; returns how many. */
  expire(): number {
    return this.store.expire();
  }

  get size(): number {
    return this.store.size;
  }
}
