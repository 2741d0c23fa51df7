// Stream mode self-metrics, on the bridge's registry next to the exporter's: what Firehose delivered, what
// was kept, what was refused and why, and what the stream costs.
import { Counter, type Registry } from "prom-client";
import { METRIC_PREFIX } from "../../core/metrics.js";

export const REASON = "reason";
export const STATUS = "status";

export interface StreamMetrics {
  deliveries: Counter<typeof STATUS>;
  records: Counter<string>;
  recordsRejected: Counter<typeof REASON>;
  updatesRejected: Counter<typeof REASON>;
  updatesApplied: Counter<string>;
  bytes: Counter<string>;
  estimatedCost: Counter<string>;
}

export function createStreamMetrics(registry: Registry): StreamMetrics {
  const p = `${METRIC_PREFIX}stream_`;
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: `${p}deliveries_total`,
      help: "Firehose deliveries received, by the HTTP status answered (only 200 counts as delivered; Firehose retries the rest).",
      labelNames: [STATUS],
      registers,
    }),
    records: new Counter({
      name: `${p}records_total`,
      help: "Firehose records in deliveries answered 200 (a retried delivery counts once).",
      registers,
    }),
    recordsRejected: new Counter({
      name: `${p}records_rejected_total`,
      help: "Firehose records of deliveries refused as a whole (Firehose retries them, then backs them up to S3), by reason.",
      labelNames: [REASON],
      registers,
    }),
    updatesRejected: new Counter({
      name: `${p}updates_rejected_total`,
      help: "Metric stream updates decoded but not exported, by reason (other namespace, metric or dimension set, stale, out of order).",
      labelNames: [REASON],
      registers,
    }),
    updatesApplied: new Counter({
      name: `${p}updates_applied_total`,
      help: "Metric stream updates that set at least one exported series.",
      registers,
    }),
    bytes: new Counter({
      name: `${p}received_bytes_total`,
      help: "Bytes of delivery bodies received, after gzip decoding.",
      registers,
    }),
    estimatedCost: new Counter({
      name: `${p}estimated_cost_usd_total`,
      help: "Estimated metric stream and Firehose cost in USD at list price of the updates and records received: 0.003 per 1000 updates, 0.029 per GB of records rounded up to 5 KB.",
      registers,
    }),
  };
}
