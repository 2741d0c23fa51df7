// Decoding of the CloudWatch metric stream JSON output format: each Firehose record holds one or more
// metric updates, one JSON object per line, each carrying sum, minimum, maximum and sample count of one
// metric over one minute. The OpenTelemetry formats (0.7 and 1.0) are length-delimited protobuf; no
// well-kept decoder is installed here, so such records are refused with an error naming the fix.
import * as z from "../../core/zod.js";
import { DeliveryError, type Delivery } from "./firehose.js";

const finite = z.number().finite();

const update = z.object({
  metric_stream_name: z.string(),
  account_id: z.string(),
  region: z.string().min(1),
  namespace: z.string().min(1),
  metric_name: z.string().min(1),
  dimensions: z.record(z.string(), z.string()),
  /** Unix milliseconds: the start of the minute the values aggregate. */
  timestamp: finite,
  value: z.object({ max: finite, min: finite, sum: finite, count: finite.nonnegative() }),
  unit: z.string(),
});

export type MetricUpdate = z.infer<typeof update>;

const OPENTELEMETRY =
  "record is not JSON: the OpenTelemetry output formats are not supported; set the metric stream's OutputFormat to json";

/** Every metric update of one record. Throws DeliveryError on anything else: one bad line rejects the delivery. */
export function decodeRecord(data: string, index: number): MetricUpdate[] {
  const text = Buffer.from(data, "base64").toString("utf8");
  const first = text.trimStart()[0];
  if (first === undefined) return [];
  if (first !== "{") throw new DeliveryError(415, `records[${index}]: ${OPENTELEMETRY}`, "opentelemetry");
  const out: MetricUpdate[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new DeliveryError(400, `records[${index}] line ${n + 1}: not JSON`, "malformed");
    }
    const parsed = update.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DeliveryError(
        400,
        `records[${index}] line ${n + 1}: not a metric stream update: ${issue.path.join(".") || "line"}: ${issue.message}`,
        "malformed",
      );
    }
    out.push(parsed.data);
  }
  return out;
}

/** Decodes every record before anything is applied, so a bad record leaves the series untouched. */
export function decodeDelivery(delivery: Delivery): MetricUpdate[] {
  return delivery.records.flatMap((r, i) => decodeRecord(r.data, i));
}
