// CloudWatch over AWS JSON 1.0 with awsQueryCompatible (X-Amz-Target GraniteServiceVersion20100801.<Op>):
// ListMetrics (500 per page) and GetMetricData (<= 500 queries, period-aligned timestamps, NextToken
// pagination by datapoints, ScanBy), values generated per period from the scenario's series.
import type { Metric, MetricDataResult } from "@aws-sdk/client-cloudwatch";
import { type Wire } from "./paging.js";
import { decodeToken, encodeToken, SimAwsError } from "./protocol.js";
import { seriesKey, type CloudWatchState, type SeriesRec } from "./cloudwatch-state.js";
import type { Statistic, ValueSpec } from "./types.js";

/** Generic request validation: query code ValidationError, which the SDK maps to ValidationException. */
const validation = (message: string) =>
  new SimAwsError("com.amazon.coral.validate#ValidationException", message, 400, "ValidationError");
const invalidParam = (message: string) =>
  new SimAwsError("InvalidParameterValueException", message, 400, "InvalidParameterValue");
const badToken = () =>
  new SimAwsError(
    "InvalidNextToken",
    "The service couldn't process your request because the NextToken is invalid.",
    400,
    "InvalidNextToken",
  );

const LIST_PAGE = 500;
const TWO_WEEKS = 14 * 86400;
const BASIC_STATS = new Set(["Sum", "Average", "Maximum", "Minimum", "SampleCount"]);

/**
 * Value of one statistic for the period starting at `t`. Specs are per 60 s: Sum and SampleCount scale
 * with period/60. Percentile and other extended statistics use the Maximum spec (or the value).
 */
export function statValue(series: SeriesRec, stat: string, t: number, period: number): number {
  const basic = (BASIC_STATS.has(stat) ? stat : "Maximum") as Statistic;
  const spec: ValueSpec = series.stats[basic] ?? (basic === "SampleCount" ? 1 : series.value);
  let v: number;
  if (typeof spec === "function") v = spec(t, basic);
  else if (typeof spec === "number") v = spec;
  else if (Array.isArray(spec))
    v = spec.length === 0 ? 0 : spec[((Math.floor(t / period) % spec.length) + spec.length) % spec.length]!;
  else {
    v = spec.base + (spec.amplitude ?? 0) * Math.sin((2 * Math.PI * t) / (spec.cycleSeconds ?? 3600));
    if (spec.integer) v = Math.round(v);
  }
  if (basic === "Sum" || basic === "SampleCount") v *= period / 60;
  return v;
}

function dimensionsOf(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!Array.isArray(raw)) throw validation(`${where}.Dimensions must be a list`);
  if (raw.length > 30) throw validation(`${where}.Dimensions must have at most 30 members`);
  const out: Record<string, string> = {};
  for (const d of raw as { Name?: unknown; Value?: unknown }[]) {
    if (typeof d?.Name !== "string") throw validation(`${where}.Dimensions: every dimension needs a Name`);
    out[d.Name] = d.Value === undefined ? "" : String(d.Value);
  }
  return out;
}

/** ClusterName dimensions a request names (for per-cluster fault rules). */
export function cloudWatchClusters(params: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const scan = (dims: unknown) => {
    if (Array.isArray(dims))
      for (const d of dims as { Name?: string; Value?: string }[])
        if (d?.Name === "ClusterName" && d.Value) out.add(d.Value);
  };
  scan(params.Dimensions);
  if (Array.isArray(params.MetricDataQueries))
    for (const q of params.MetricDataQueries as { MetricStat?: { Metric?: { Dimensions?: unknown } } }[])
      scan(q?.MetricStat?.Metric?.Dimensions);
  return [...out];
}

export function handleCloudWatch(
  cloudWatch: CloudWatchState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
): unknown {
  switch (operation) {
    case "ListMetrics":
      return listMetrics(cloudWatch, params, region);
    case "GetMetricData":
      return getMetricData(cloudWatch, params, region);
    default:
      throw new SimAwsError(
        "UnknownOperationException",
        `The simulated CloudWatch endpoint does not implement ${operation}.`,
        400,
        "InvalidAction",
      );
  }
}

function listMetrics(cloudWatch: CloudWatchState, params: Record<string, unknown>, region: string): unknown {
  const nowSec = cloudWatch.ctx.now() / 1000;
  const namespace = params.Namespace === undefined ? undefined : String(params.Namespace);
  const metricName = params.MetricName === undefined ? undefined : String(params.MetricName);
  const filters = Array.isArray(params.Dimensions)
    ? (params.Dimensions as { Name?: string; Value?: string }[])
    : [];
  if (params.Dimensions !== undefined && !Array.isArray(params.Dimensions))
    throw validation("Dimensions must be a list");
  if (filters.length > 10)
    throw validation("The collection Dimensions must not have a size greater than 10.");
  const recent = params.RecentlyActive === undefined ? undefined : String(params.RecentlyActive);
  if (recent !== undefined && recent !== "PT3H") throw invalidParam("RecentlyActive must be PT3H");
  const horizon = nowSec - (recent ? 3 * 3600 : TWO_WEEKS);
  const all = [...cloudWatch.series.values()]
    .filter((s) => s.region === region)
    .filter((s) => (!namespace || s.namespace === namespace) && (!metricName || s.metricName === metricName))
    // A metric is listed when it has data in the last two weeks (three hours with RecentlyActive).
    .filter(
      (s) => (s.until === undefined || s.until >= horizon) && (s.from === undefined || s.from <= nowSec),
    )
    .filter((s) =>
      filters.every((f) =>
        s.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value)),
      ),
    )
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const after = decodeToken(params.NextToken, badToken);
  let start = 0;
  if (after !== undefined) {
    start = all.findIndex((s) => s.key > String(after));
    if (start < 0) start = all.length;
  }
  const slice = all.slice(start, start + LIST_PAGE);
  const metrics: Wire<Metric>[] = slice.map((s) => ({
    Namespace: s.namespace,
    MetricName: s.metricName,
    Dimensions: s.dimensions.map((d) => ({ ...d })),
  }));
  const more = start + LIST_PAGE < all.length;
  return {
    Metrics: metrics,
    ...(params.IncludeLinkedAccounts ? { OwningAccounts: slice.map(() => cloudWatch.ctx.accountId) } : {}),
    ...(more ? { NextToken: encodeToken(slice[slice.length - 1]!.key) } : {}),
  };
}

interface Query {
  id: string;
  label: string;
  series?: SeriesRec;
  stat: string;
  period: number;
  returnData: boolean;
  /** Visible period starts, ascending: first + i*period for i < count. */
  first: number;
  count: number;
  /** AccountId named another account: this one monitors none, so CloudWatch answers Forbidden. */
  forbidden?: boolean;
}

function getMetricData(
  cloudWatch: CloudWatchState,
  params: Record<string, unknown>,
  region: string,
): unknown {
  const raw = params.MetricDataQueries;
  if (!Array.isArray(raw) || raw.length === 0)
    throw validation("The parameter MetricDataQueries is required.");
  if (raw.length > 500)
    throw validation("The collection MetricDataQueries must not have a size greater than 500.");
  const start = Number(params.StartTime);
  const end = Number(params.EndTime);
  if (!Number.isFinite(start) || !Number.isFinite(end))
    throw validation("The parameters StartTime and EndTime are required.");
  if (start >= end) throw validation("The parameter StartTime must be less than the parameter EndTime.");
  const scanBy = params.ScanBy === undefined ? "TimestampDescending" : String(params.ScanBy);
  if (scanBy !== "TimestampDescending" && scanBy !== "TimestampAscending")
    throw validation(`ScanBy must be TimestampDescending or TimestampAscending, got ${scanBy}`);
  const maxDatapoints = params.MaxDatapoints === undefined ? 100_800 : Number(params.MaxDatapoints);
  if (!Number.isInteger(maxDatapoints) || maxDatapoints < 1)
    throw validation("MaxDatapoints must be a positive integer.");
  const budget = Math.min(maxDatapoints, cloudWatch.maxDatapointsPerPage);
  const visibleUntil = cloudWatch.ctx.now() / 1000 - cloudWatch.lagSeconds;
  const ids = new Set<string>();
  const queries: Query[] = raw.map((q: unknown, i: number) => {
    const where = `MetricDataQueries.member.${i + 1}`;
    const o = (q ?? {}) as Record<string, unknown>;
    const id = String(o.Id ?? "");
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id) || id.length > 255)
      throw validation(
        `${where}.Id ${JSON.stringify(id)} must start with a lowercase letter and contain only letters, digits and underscores.`,
      );
    if (ids.has(id)) throw validation(`The value ${id} for field ${where}.Id is not unique.`);
    ids.add(id);
    if (o.Expression !== undefined)
      throw validation(
        `${where}: the simulated CloudWatch endpoint does not evaluate metric math expressions.`,
      );
    const ms = o.MetricStat as
      { Metric?: Record<string, unknown>; Period?: unknown; Stat?: unknown; Unit?: unknown } | undefined;
    if (!ms?.Metric) throw validation(`${where}: exactly one of MetricStat and Expression must be set.`);
    const period = Number(ms.Period);
    if (!Number.isInteger(period) || period < 1 || (period % 60 !== 0 && ![1, 5, 10, 30].includes(period)))
      throw validation(`The parameter ${where}.MetricStat.Period must be a multiple of 60.`);
    const stat = String(ms.Stat ?? "");
    if (!stat) throw validation(`${where}.MetricStat.Stat is required.`);
    const metricName = String(ms.Metric.MetricName ?? "");
    const namespace = String(ms.Metric.Namespace ?? "");
    const dims = dimensionsOf(ms.Metric.Dimensions, `${where}.MetricStat.Metric`);
    const forbidden = o.AccountId !== undefined && String(o.AccountId) !== cloudWatch.ctx.accountId;
    let series = forbidden
      ? undefined
      : cloudWatch.series.get(seriesKey(region, namespace, metricName, dims));
    if (series && ms.Unit !== undefined && series.unit && ms.Unit !== series.unit) series = undefined;
    // Timestamps are period starts: StartTime rounded down to the period, EndTime exclusive.
    let first = Math.floor(start / period) * period;
    let last = Math.ceil(end / period) * period - period;
    if (series) {
      if (series.from !== undefined) first = Math.max(first, Math.ceil(series.from / period) * period);
      const cap = Math.min(visibleUntil, series.until ?? Infinity);
      last = Math.min(last, Math.floor(cap / period) * period);
    }
    const count = series && last >= first ? (last - first) / period + 1 : 0;
    return {
      id,
      label: o.Label === undefined ? metricName : String(o.Label),
      ...(series ? { series } : {}),
      stat,
      period,
      returnData: o.ReturnData !== false,
      first,
      count,
      ...(forbidden ? { forbidden } : {}),
    };
  });
  const returned = queries.filter((q) => q.returnData);
  const total = returned.reduce((n, q) => n + q.count, 0);
  const offset = Number(decodeToken(params.NextToken, badToken) ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || offset > total) throw badToken();
  const pageEnd = Math.min(total, offset + budget);
  const results: Wire<MetricDataResult>[] = [];
  let base = 0;
  for (const q of returned) {
    const lo = Math.max(offset, base);
    const hi = Math.min(pageEnd, base + q.count);
    // Queries without data are reported once, on the first page.
    if (hi > lo || (q.count === 0 && offset === 0)) {
      const timestamps: number[] = [];
      const values: number[] = [];
      for (let k = lo - base; k < hi - base; k++) {
        const i = scanBy === "TimestampAscending" ? k : q.count - 1 - k;
        const t = q.first + i * q.period;
        timestamps.push(t);
        values.push(statValue(q.series!, q.stat, t, q.period));
      }
      results.push({
        Id: q.id,
        Label: q.label,
        Timestamps: timestamps,
        Values: values,
        StatusCode: q.forbidden ? "Forbidden" : base + q.count > pageEnd ? "PartialData" : "Complete",
        Messages: [],
      });
    }
    base += q.count;
  }
  return {
    MetricDataResults: results,
    Messages: [],
    ...(pageEnd < total ? { NextToken: encodeToken(pageEnd) } : {}),
  };
}
