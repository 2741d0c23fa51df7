// A simulated CloudWatch metric stream and its Amazon Data Firehose HTTP endpoint delivery: turns the
// simulator's metric series (Service Connect included) into the metric stream JSON output format, one
// update per series and minute with sum, minimum, maximum and sample count, packs them into records and
// deliveries, and posts them the way Firehose does (request id and access key headers, optional gzip, the
// same request id again on every retry after a non-200 answer). Written from the AWS documentation, not
// from the bridge's decoder, so tests of the one check the other.
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { statValue } from "./cloudwatch.js";
import { CloudWatchState } from "./cloudwatch-state.js";
import { AccountContext } from "./context.js";
import type { Scenario } from "./types.js";

/** One line of the metric stream JSON output format. */
export interface MetricStreamLine {
  metric_stream_name: string;
  account_id: string;
  region: string;
  namespace: string;
  metric_name: string;
  dimensions: Record<string, string>;
  /** Unix milliseconds, start of the minute. */
  timestamp: number;
  value: { max: number; min: number; sum: number; count: number };
  unit: string;
}

export interface FirehoseDelivery {
  requestId: string;
  timestamp: number;
  records: { data: string }[];
}

const MINUTE = 60;

export interface StreamUpdateOptions {
  streamName?: string;
  /** Include filter by namespace, as a metric stream has (default AWS/ECS). */
  namespaces?: readonly string[];
}

/**
 * The updates a metric stream sends for the minute starting at `minuteStart` (Unix seconds): every series of
 * the included namespaces publishing then, every dimension combination, values as the simulated CloudWatch
 * answers GetMetricData with a 60-second period.
 */
export function metricStreamUpdates(
  scenario: Scenario,
  minuteStart: number,
  opts: StreamUpdateOptions = {},
): MetricStreamLine[] {
  const namespaces = opts.namespaces ?? ["AWS/ECS"];
  const ctx = new AccountContext(scenario, () => minuteStart * 1000);
  const state = new CloudWatchState(ctx, scenario);
  const out: MetricStreamLine[] = [];
  for (const s of state.series.values()) {
    if (!namespaces.includes(s.namespace)) continue;
    if ((s.from !== undefined && s.from > minuteStart) || (s.until !== undefined && s.until < minuteStart))
      continue;
    const value = (stat: string) => statValue(s, stat, minuteStart, MINUTE);
    out.push({
      metric_stream_name: opts.streamName ?? "service-connect",
      account_id: ctx.accountId,
      region: s.region,
      namespace: s.namespace,
      metric_name: s.metricName,
      dimensions: Object.fromEntries(s.dimensions.map((d) => [d.Name, d.Value])),
      timestamp: minuteStart * 1000,
      value: {
        max: value("Maximum"),
        min: value("Minimum"),
        sum: value("Sum"),
        count: value("SampleCount"),
      },
      unit: s.unit ?? "None",
    });
  }
  return out;
}

export interface PackOptions {
  /** Updates per Firehose record (a metric stream packs several, one per line). Default 20. */
  updatesPerRecord?: number;
  /** Records per delivery (Firehose buffers by size and time). Default 500. */
  recordsPerDelivery?: number;
  now?: () => number;
}

/** Packs updates into records (newline-delimited JSON, base64) and records into deliveries. */
export function packDeliveries(
  updates: readonly MetricStreamLine[],
  opts: PackOptions = {},
): FirehoseDelivery[] {
  const perRecord = opts.updatesPerRecord ?? 20;
  const perDelivery = opts.recordsPerDelivery ?? 500;
  const records: { data: string }[] = [];
  for (let i = 0; i < updates.length; i += perRecord) {
    const lines = updates.slice(i, i + perRecord).map((u) => `${JSON.stringify(u)}\n`);
    records.push({ data: Buffer.from(lines.join(""), "utf8").toString("base64") });
  }
  const deliveries: FirehoseDelivery[] = [];
  for (let i = 0; i < records.length; i += perDelivery)
    deliveries.push({
      requestId: randomUUID(),
      timestamp: (opts.now ?? Date.now)(),
      records: records.slice(i, i + perDelivery),
    });
  return deliveries;
}

export interface SendOptions {
  url: string;
  accessKey: string;
  /** Content-Encoding gzip, as a Firehose stream with compression on sends. Default true. */
  gzip?: boolean;
  /** Attempts per delivery; Firehose retries a non-200 answer with the same request id. Default 3. */
  maxAttempts?: number;
  retryDelayMs?: number;
}

export interface SendResult {
  requestId: string;
  status: number;
  attempts: number;
  response: unknown;
}

/** The HTTP request Firehose sends for one delivery: body (gzip when configured) and headers. */
export function deliveryRequest(
  delivery: FirehoseDelivery,
  opts: Pick<SendOptions, "accessKey" | "gzip">,
): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(delivery), "utf8");
  const gzip = opts.gzip ?? true;
  return {
    body: gzip ? gzipSync(json) : json,
    headers: {
      "content-type": "application/json",
      "x-amz-firehose-protocol-version": "1.0",
      "x-amz-firehose-request-id": delivery.requestId,
      "x-amz-firehose-access-key": opts.accessKey,
      "x-amz-firehose-source-arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/service-connect",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    },
  };
}

/** Posts one delivery, retrying (same request id) on a non-200 answer or a connection error. */
export async function sendDelivery(delivery: FirehoseDelivery, opts: SendOptions): Promise<SendResult> {
  const { body, headers } = deliveryRequest(delivery, opts);
  const maxAttempts = opts.maxAttempts ?? 3;
  let last: SendResult = { requestId: delivery.requestId, status: 0, attempts: 0, response: undefined };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 50));
    try {
      const res = await fetch(opts.url, { method: "POST", headers, body });
      const text = await res.text();
      last = {
        requestId: delivery.requestId,
        status: res.status,
        attempts: attempt,
        response: parseJson(text),
      };
      if (res.status === 200) return last;
    } catch (err) {
      last = { requestId: delivery.requestId, status: 0, attempts: attempt, response: String(err) };
    }
  }
  return last;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Streams one minute of the scenario to the endpoint; returns each delivery's outcome. */
export async function streamMinute(
  scenario: Scenario,
  minuteStart: number,
  opts: SendOptions & PackOptions & StreamUpdateOptions,
): Promise<SendResult[]> {
  const results: SendResult[] = [];
  for (const d of packDeliveries(metricStreamUpdates(scenario, minuteStart, opts), opts))
    results.push(await sendDelivery(d, opts));
  return results;
}
