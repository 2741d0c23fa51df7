// Stream mode pricing, for the estimated cost counter and the cost comparison in docs/exporter.md (the same
// formula the benchmark prints). Assumption: us-east-1 list prices. CloudWatch metric streams bill every
// metric update streamed (sum, min, max and count of one metric and dimension set over one minute);
// Firehose bills ingestion per GB with each record rounded up to 5 KB. The load balancer in front of the
// bridge is a fixed cost of its own, left out here and named in the docs.
import { DAYS_PER_MONTH } from "../cost.js";

/** CloudWatch metric streams: USD per metric update. */
export const METRIC_STREAM_USD_PER_UPDATE = 0.003 / 1000;
/** Amazon Data Firehose ingestion: USD per GB, records rounded up to 5 KB. */
export const FIREHOSE_USD_PER_GB = 0.029;
export const FIREHOSE_RECORD_ROUNDING_BYTES = 5 * 1024;
const GB = 1024 ** 3;

export const MINUTES_PER_MONTH = DAYS_PER_MONTH * 24 * 60;

/** Firehose ingestion cost of one record of `bytes` bytes. */
export function firehoseRecordUsd(bytes: number): number {
  const billed =
    Math.max(1, Math.ceil(bytes / FIREHOSE_RECORD_ROUNDING_BYTES)) * FIREHOSE_RECORD_ROUNDING_BYTES;
  return (billed / GB) * FIREHOSE_USD_PER_GB;
}

export interface StreamCostInput {
  /** Series the metric stream sends (every dimension combination of every included metric). */
  streamedSeries: number;
  /** Bytes of one update as the stream writes it (one JSON line). */
  bytesPerUpdate: number;
  /** Updates the stream packs into one Firehose record. */
  updatesPerRecord: number;
}

export interface StreamCostEstimate {
  updatesPerMonth: number;
  metricStreamUsd: number;
  firehoseUsd: number;
  totalUsd: number;
}

/** One update per streamed series and minute (Service Connect publishes every minute while there is traffic). */
export function estimateStreamMonthlyCost(c: StreamCostInput): StreamCostEstimate {
  const updatesPerMonth = c.streamedSeries * MINUTES_PER_MONTH;
  const recordsPerMonth = updatesPerMonth / c.updatesPerRecord;
  const metricStreamUsd = updatesPerMonth * METRIC_STREAM_USD_PER_UPDATE;
  const firehoseUsd = recordsPerMonth * firehoseRecordUsd(c.bytesPerUpdate * c.updatesPerRecord);
  return { updatesPerMonth, metricStreamUsd, firehoseUsd, totalUsd: metricStreamUsd + firehoseUsd };
}
