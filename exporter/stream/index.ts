// Stream mode of the Service Connect exporter: CloudWatch metric stream -> Amazon Data Firehose -> this
// route. A delivery is parsed and decoded whole before anything is applied (a bad one changes nothing and is
// answered non-200, so Firehose retries it and finally backs it up to S3); a request id already applied is
// answered 200 again without applying it twice.
import type { Router } from "express";
import { lruByCount } from "../../core/lru.js";
import type { Registry } from "prom-client";
import type { Config } from "../../cmd/config.js";
import type { AccountConfig } from "../../core/options.js";
import { silentLogger, type Logger } from "../../core/log.js";
import { parseArn } from "../../sd/model.js";
import { resolveStatistics } from "../catalog.js";
import { METRIC_STREAM_USD_PER_UPDATE, firehoseRecordUsd } from "./cost.js";
import { decodeDelivery, type MetricUpdate } from "./decode.js";
import { DeliveryError, parseDelivery } from "./firehose.js";
import { createStreamMetrics, REASON, STATUS } from "./metrics.js";
import { deliveryRouter } from "./route.js";
import { StreamSeries } from "./store.js";

/** Request ids remembered for retries: Firehose retries within minutes, far fewer deliveries than this. */
const RECENT_REQUEST_IDS = 10_000;
/** Stale series are dropped on every delivery and at least this often when deliveries stop. */
const EXPIRE_INTERVAL_MS = 15_000;

export interface StreamIngestOptions {
  config: Pick<Config, "exporter">;
  /** The configured AWS scopes: series of accounts read through a role carry account_id, as in poll mode. */
  scopes: readonly { account?: AccountConfig }[];
  metrics: { registry: Registry };
  logger?: Logger;
  /** Clock in Unix ms (tests pin it). */
  now?: () => number;
}

export interface StreamIngest {
  /** Mount on the bridge's HTTP app. */
  router: Router;
  /** Drops series without an update within the staleness limit now; returns how many. */
  expire(): number;
  /** Series exported. */
  readonly size: number;
  stop(): void;
}

export function createStreamIngest(opts: StreamIngestOptions): StreamIngest {
  const cfg = opts.config.exporter;
  const { stream } = cfg;
  if (!stream.accessKey) throw new Error("exporter.stream.accessKey is required in stream mode");
  const now = opts.now ?? Date.now;
  const logger = opts.logger ?? silentLogger;
  const m = createStreamMetrics(opts.metrics.registry);
  const labelledAccounts = new Set(
    opts.scopes.flatMap((s) => (s.account ? [parseArn(s.account.roleArn)?.accountId ?? ""] : [])),
  );
  const series = new StreamSeries(opts.metrics.registry, {
    filter: cfg,
    statistics: resolveStatistics(cfg.statistics),
    stalenessMs: stream.stalenessSeconds * 1000,
    now,
    labelledAccounts,
  });
  const applied = lruByCount<string, true>(RECENT_REQUEST_IDS);

  const apply = (updates: readonly MetricUpdate[]): void => {
    let kept = 0;
    for (const u of updates) {
      const reason = series.apply(u);
      if (reason) m.updatesRejected.inc({ [REASON]: reason });
      else kept++;
    }
    m.updatesApplied.inc(kept);
  };

  const handle = (body: Buffer, requestId: string): void => {
    m.bytes.inc(body.length);
    if (applied.has(requestId)) return;
    let records = 0;
    try {
      const delivery = parseDelivery(body, requestId, stream.maxRecords);
      records = delivery.records.length;
      const updates = decodeDelivery(delivery);
      apply(updates);
      applied.set(requestId, true);
      m.records.inc(records);
      const recordUsd = delivery.records.reduce(
        (sum, r) => sum + firehoseRecordUsd(Buffer.byteLength(r.data, "base64")),
        0,
      );
      m.estimatedCost.inc(updates.length * METRIC_STREAM_USD_PER_UPDATE + recordUsd);
    } catch (err) {
      if (err instanceof DeliveryError) m.recordsRejected.inc({ [REASON]: err.reason }, records);
      throw err;
    }
    series.expire();
  };

  const router = deliveryRouter({
    path: stream.path,
    accessKey: stream.accessKey,
    maxBodyBytes: stream.maxBodyBytes,
    now,
    handle,
    onAnswer(status, requestId, errorMessage) {
      m.deliveries.inc({ [STATUS]: String(status) });
      if (status !== 200) logger.warn("firehose delivery refused", { requestId, status, errorMessage });
    },
  });
  const timer = setInterval(() => series.expire(), EXPIRE_INTERVAL_MS);
  timer.unref();
  return {
    router,
    expire: () => series.expire(),
    get size() {
      return series.size;
    },
    stop: () => clearInterval(timer),
  };
}
