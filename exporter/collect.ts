// GetMetricData: one query per (series, statistic), at most 500 queries per request, every page read,
// over a window aligned to the period and held back for CloudWatch's ingestion lag.
import type { MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { chunk } from "../core/aws.js";
import { NAMESPACE, type Statistic } from "./catalog.js";
import type { CloudWatchApi } from "./api.js";
import type { SeriesRef } from "./discovery.js";

/** GetMetricData accepts at most 500 queries per request. */
export const MAX_QUERIES_PER_REQUEST = 500;

/** Query window in Unix seconds. */
export interface Window {
  start: number;
  end: number;
}

/** The window reaches at least this far back, whatever the period. */
const MIN_WINDOW_SECONDS = 300;

/**
 * Length of the query window: whole periods (CloudWatch starts its buckets at StartTime, so a partial period
 * would cut the newest bucket short), at least two and at least five minutes. When CloudWatch fills the
 * newest period later than delaySeconds allows for, the window still holds the one before it, so the series
 * keeps its value instead of flapping; stalenessSeconds still drops whatever is too old. 300 s -> 600 s,
 * 60 s -> 300 s.
 */
export function windowSeconds(periodSeconds: number): number {
  return periodSeconds * Math.max(2, Math.ceil(MIN_WINDOW_SECONDS / periodSeconds));
}

/**
 * end = floor((now - delay) / period) * period, start = end - windowSeconds(period). Aligned ends make every
 * collection in one period ask for the same complete buckets; the delay skips the newest, still filling ones.
 */
export function alignWindow(nowMs: number, periodSeconds: number, delaySeconds: number): Window {
  const end = Math.floor((nowMs / 1000 - delaySeconds) / periodSeconds) * periodSeconds;
  return { start: end - windowSeconds(periodSeconds), end };
}

export interface Query {
  series: SeriesRef;
  stat: Statistic;
}

export function buildQueries(
  series: readonly SeriesRef[],
  stats: ReadonlyMap<string, readonly Statistic[]>,
): Query[] {
  return series.flatMap((s) => (stats.get(s.metric.name) ?? []).map((stat) => ({ series: s, stat })));
}

export function toBatches(queries: readonly Query[]): Query[][] {
  return chunk(queries, MAX_QUERIES_PER_REQUEST);
}

/** Query ids must match [a-z][a-zA-Z0-9_]*: the index within the batch keeps them short and unique. */
export function queryId(index: number): string {
  return `q${index}`;
}

export function toMetricDataQuery(q: Query, index: number, periodSeconds: number): MetricDataQuery {
  return {
    Id: queryId(index),
    MetricStat: {
      Metric: { Namespace: NAMESPACE, MetricName: q.series.metric.name, Dimensions: q.series.dimensions },
      Period: periodSeconds,
      Stat: q.stat,
    },
    ReturnData: true,
    // A monitoring account reads a source account's series only when the query names the account.
    ...(q.series.owningAccount ? { AccountId: q.series.owningAccount } : {}),
  };
}

export interface Point {
  /** Unix milliseconds of the datapoint (start of its period). */
  timestamp: number;
  value: number;
}

export interface BatchResult {
  /** Newest point per query index of the batch; queries without data in the window are absent. */
  points: Map<number, Point>;
  /** GetMetricData requests sent for this batch (pages). */
  requests: number;
  /** Per-query status codes other than Complete/PartialData (InternalError, Forbidden). */
  queryErrors: string[];
}

/**
 * Sends one batch and reads every page. Throws if any page fails: a half-read batch is discarded and its
 * series keep their previous values.
 */
export async function fetchBatch(
  api: CloudWatchApi,
  batch: readonly Query[],
  window: Window,
  periodSeconds: number,
  onRequest: (queries: number) => void = () => {},
): Promise<BatchResult> {
  if (batch.length > MAX_QUERIES_PER_REQUEST) throw new Error(`batch of ${batch.length} queries exceeds 500`);
  const queries = batch.map((q, i) => toMetricDataQuery(q, i, periodSeconds));
  const points = new Map<number, Point>();
  const queryErrors: string[] = [];
  let requests = 0;
  const input = {
    MetricDataQueries: queries,
    StartTime: new Date(window.start * 1000),
    EndTime: new Date(window.end * 1000),
    ScanBy: "TimestampDescending" as const,
  };
  await api.getMetricData(input, (page) => {
    requests++;
    onRequest(queries.length);
    for (const r of page.MetricDataResults ?? []) {
      const index = r.Id && /^q\d+$/.test(r.Id) ? Number(r.Id.slice(1)) : -1;
      if (index < 0 || index >= batch.length) continue;
      if (r.StatusCode === "InternalError" || r.StatusCode === "Forbidden") queryErrors.push(r.StatusCode);
      const timestamps = r.Timestamps ?? [];
      const values = r.Values ?? [];
      // Pages may split one query's points; keep the newest across all of them rather than trusting order.
      for (let i = 0; i < Math.min(timestamps.length, values.length); i++) {
        const timestamp = new Date(timestamps[i]!).getTime();
        const value = values[i]!;
        if (!Number.isFinite(timestamp) || !Number.isFinite(value)) continue;
        const prev = points.get(index);
        if (!prev || timestamp > prev.timestamp) points.set(index, { timestamp, value });
      }
    }
  });
  return { points, requests, queryErrors };
}
