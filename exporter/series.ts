// Exported values: the newest CloudWatch point of every series, held in prom-client gauges (no timestamps)
// until its datapoint is older than the staleness limit; then the label set is removed, never set to 0.
import { Gauge, Registry, type MetricObjectWithValues, type MetricType, type MetricValue } from "prom-client";
import { LABEL_NAMES, type LabelName, type Labels } from "./names.js";
import type { Point } from "./collect.js";

/**
 * A prom-client Gauge exposed with TYPE untyped. The names users know (aws_ecs_request_count_sum,
 * ..._sample_count) end in _sum/_count, which promtool's linter reserves for histograms and summaries when
 * the TYPE is gauge; an untyped family is exempt, and the samples Prometheus stores are the same.
 */
export class CloudWatchGauge extends Gauge<LabelName> {
  private readonly exposedType: string;

  constructor(name: string, help: string, registry: Registry) {
    super({ name, help, labelNames: [...LABEL_NAMES], registers: [registry] });
    this.exposedType =
      (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE ? "unknown" : "untyped";
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<LabelName>>> {
    const m = await super.get();
    return { ...m, type: this.exposedType as unknown as MetricType };
  }
}

interface Entry {
  gauge: CloudWatchGauge;
  labels: Labels;
  /** Unix ms of the exported datapoint. */
  timestamp: number;
}

export class SeriesStore {
  private readonly gauges = new Map<string, CloudWatchGauge>();
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly registry: Registry,
    private readonly stalenessMs: number,
    private readonly now: () => number,
  ) {}

  private gauge(name: string, help: string): CloudWatchGauge {
    let g = this.gauges.get(name);
    if (g) return g;
    const existing = this.registry.getSingleMetric(name);
    if (existing && !(existing instanceof CloudWatchGauge))
      throw new Error(`metric ${name} is already registered by something other than the exporter`);
    g = (existing as CloudWatchGauge | undefined) ?? new CloudWatchGauge(name, help, this.registry);
    this.gauges.set(name, g);
    return g;
  }

  private isStale(timestamp: number): boolean {
    return this.now() - timestamp > this.stalenessMs;
  }

  /** Sets a series to its newest point unless that point is already stale or older than the one exported. */
  update(name: string, help: string, labels: Labels, point: Point): boolean {
    if (this.isStale(point.timestamp)) return false;
    const key = `${name}${JSON.stringify(labels)}`;
    const prev = this.entries.get(key);
    if (prev && point.timestamp < prev.timestamp) return false;
    const gauge = prev?.gauge ?? this.gauge(name, help);
    gauge.set(labels, point.value);
    this.entries.set(key, { gauge, labels, timestamp: point.timestamp });
    return true;
  }

  /** Removes every series whose newest datapoint is older than the staleness limit; returns how many. */
  expire(): number {
    let removed = 0;
    for (const [key, e] of this.entries) {
      if (!this.isStale(e.timestamp)) continue;
      e.gauge.remove(e.labels);
      this.entries.delete(key);
      removed++;
    }
    return removed;
  }

  get size(): number {
    return this.entries.size;
  }
}
