// CloudWatch state of one simulated account: metric series keyed by region, namespace, name and dimensions,
// and the visibility settings (ingestion lag, datapoints per page) the handler applies.
import type { AccountContext } from "./context.js";
import { SimScenarioError } from "./protocol.js";
import { serviceConnectSeries } from "./serviceconnect.js";
import type { MetricSeriesSpec, Scenario, ServiceConnectSpec, Statistic, ValueSpec } from "./types.js";

export interface SeriesRec {
  /** Canonical identity: region|namespace|metric|sorted dimensions. */
  key: string;
  namespace: string;
  metricName: string;
  dimensions: { Name: string; Value: string }[];
  region: string;
  unit?: string;
  value: ValueSpec;
  stats: Partial<Record<Statistic, ValueSpec>>;
  /** Epoch seconds. */
  from?: number;
  until?: number;
}

type SeriesRef = Pick<MetricSeriesSpec, "namespace" | "metricName" | "dimensions" | "region">;

export function seriesKey(
  region: string,
  namespace: string,
  metricName: string,
  dims: Record<string, string>,
): string {
  const d = Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k]}`)
    .join(",");
  return `${region}|${namespace}|${metricName}|${d}`;
}

function toEpochSeconds(v: number | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new SimScenarioError(`${what}: not a timestamp: ${JSON.stringify(v)}`);
  return ms / 1000;
}

export class CloudWatchState {
  readonly series = new Map<string, SeriesRec>(); // by key
  readonly lagSeconds: number;
  readonly maxDatapointsPerPage: number;

  constructor(
    readonly ctx: AccountContext,
    scenario: Scenario,
  ) {
    this.lagSeconds = scenario.cloudwatch?.lagSeconds ?? 0;
    this.maxDatapointsPerPage = scenario.cloudwatch?.maxDatapointsPerPage ?? 100_800;
    for (const [i, m] of (scenario.metrics ?? []).entries()) this.putSeries(m, `metrics[${i}]`);
    for (const sc of scenario.serviceConnect ?? []) this.putServiceConnect(sc, "serviceConnect");
  }

  putSeries(m: MetricSeriesSpec, where = "putMetricSeries"): SeriesRec {
    if (!m.metricName) throw new SimScenarioError(`${where}: metricName is required`);
    if (!m.dimensions || typeof m.dimensions !== "object")
      throw new SimScenarioError(`${where}: dimensions must be a map`);
    if (Object.keys(m.dimensions).length > 30) throw new SimScenarioError(`${where}: at most 30 dimensions`);
    const region = m.region ?? this.ctx.region;
    const namespace = m.namespace ?? "AWS/ECS";
    const from = toEpochSeconds(m.from, `${where}.from`);
    const until = toEpochSeconds(m.until, `${where}.until`);
    const rec: SeriesRec = {
      key: seriesKey(region, namespace, m.metricName, m.dimensions),
      namespace,
      metricName: m.metricName,
      dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) })),
      region,
      ...(m.unit ? { unit: m.unit } : {}),
      value: m.value ?? 0,
      stats: m.stats ?? {},
      ...(from !== undefined ? { from } : {}),
      ...(until !== undefined ? { until } : {}),
    };
    this.series.set(rec.key, rec);
    return rec;
  }

  /** Adds both Service Connect families of one discovery name; returns how many series. */
  putServiceConnect(spec: ServiceConnectSpec, where = "putServiceConnect"): number {
    const series = serviceConnectSeries(spec);
    for (const m of series) this.putSeries(m, where);
    return series.length;
  }

  removeSeries(m: SeriesRef): boolean {
    return this.series.delete(
      seriesKey(m.region ?? this.ctx.region, m.namespace ?? "AWS/ECS", m.metricName, m.dimensions),
    );
  }
}
