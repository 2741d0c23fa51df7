// CloudWatch API pricing used by the estimated cost counter and the cost figures in docs/exporter.md.
// Assumption: us-east-1 list prices; GetMetricData has no free tier, and the 1M-request free tier of
// ListMetrics is ignored so the estimate errs high.
import cron from "node-cron";

/** GetMetricData: USD per metric requested (each query of a request, every request including pages). */
export const GET_METRIC_DATA_USD_PER_METRIC = 0.01 / 1000;
/** ListMetrics: USD per request (each page is a request). */
export const LIST_METRICS_USD_PER_REQUEST = 0.01 / 1000;

/** Days in the month used for monthly figures (AWS prices a month as 730 hours). */
export const DAYS_PER_MONTH = 730 / 24;

/** Collections per day of a node-cron schedule that fires every day (day-of-month/-week fields ignored). */
export function collectionsPerDay(schedule: string): number {
  const f = cron.parse(schedule);
  return f.second.length * f.minute.length * f.hour.length;
}

export interface CostInput {
  /** GetMetricData queries (metrics requested) per collection. */
  metricsPerCollection: number;
  /** ListMetrics requests per refresh of the series list (all pages, both families). */
  listMetricsRequestsPerRefresh: number;
  collectionsPerDay: number;
  listMetricsTtlSeconds: number;
}

export interface CostEstimate {
  collectionsPerMonth: number;
  metricsRequestedPerMonth: number;
  listMetricsRequestsPerMonth: number;
  getMetricDataUsd: number;
  listMetricsUsd: number;
  totalUsd: number;
}

export function estimateMonthlyCost(c: CostInput): CostEstimate {
  const collectionsPerMonth = c.collectionsPerDay * DAYS_PER_MONTH;
  const metricsRequestedPerMonth = c.metricsPerCollection * collectionsPerMonth;
  // The listing is refreshed by the first collection after its TTL ran out.
  const intervalSeconds = 86_400 / c.collectionsPerDay;
  const collectionsPerRefresh = Math.max(1, Math.ceil(c.listMetricsTtlSeconds / intervalSeconds));
  const listMetricsRequestsPerMonth =
    (c.listMetricsRequestsPerRefresh * collectionsPerMonth) / collectionsPerRefresh;
  const getMetricDataUsd = metricsRequestedPerMonth * GET_METRIC_DATA_USD_PER_METRIC;
  const listMetricsUsd = listMetricsRequestsPerMonth * LIST_METRICS_USD_PER_REQUEST;
  return {
    collectionsPerMonth,
    metricsRequestedPerMonth,
    listMetricsRequestsPerMonth,
    getMetricDataUsd,
    listMetricsUsd,
    totalUsd: getMetricDataUsd + listMetricsUsd,
  };
}
