// The Amazon Data Firehose HTTP endpoint delivery contract (protocol version 1.0): the request envelope
// `{requestId, timestamp, records: [{data: base64}]}`, its headers, the access key check and the JSON
// response Firehose reads. Firehose counts only a 200 as delivered; any other status makes it retry the
// whole request (same request id) until its retry duration ends, then back the records up to S3.
import { timingSafeEqual, createHash } from "node:crypto";
import * as z from "../../core/zod.js";

export const REQUEST_ID_HEADER = "x-amz-firehose-request-id";
export const ACCESS_KEY_HEADER = "x-amz-firehose-access-key";

/** One Firehose record: the bytes the metric stream wrote, base64 encoded. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const envelope = z.object({
  requestId: z.string().min(1),
  timestamp: z.number().finite(),
  records: z.array(
    z.object({
      data: z
        .string()
        .refine((s) => s.length % 4 === 0 && BASE64.test(s), { error: "record data is not base64" }),
    }),
  ),
});

export type Delivery = z.infer<typeof envelope>;

/** A delivery Firehose should not be told was delivered; status is what the route answers. */
export class DeliveryError extends Error {
  constructor(
    readonly status: 400 | 401 | 413 | 415 | 500,
    message: string,
    /** Self-metric reason for the records of a rejected delivery. */
    readonly reason: string,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

/**
 * Parses and checks the envelope. `maxRecords` bounds the work one request can cause; the request id must
 * match the header, or a retry could not be recognised.
 */
export function parseDelivery(body: Buffer, headerRequestId: string, maxRecords: number): Delivery {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString("utf8"));
  } catch {
    throw new DeliveryError(400, "body is not JSON", "malformed");
  }
  const parsed = envelope.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DeliveryError(
      400,
      `body is not a Firehose delivery: ${issue.path.join(".") || "body"}: ${issue.message}`,
      "malformed",
    );
  }
  if (parsed.data.requestId !== headerRequestId)
    throw new DeliveryError(400, "requestId differs from the X-Amz-Firehose-Request-Id header", "malformed");
  if (parsed.data.records.length > maxRecords)
    throw new DeliveryError(
      400,
      `${parsed.data.records.length} records in one delivery; at most ${maxRecords} accepted`,
      "too_many_records",
    );
  return parsed.data;
}

/**
 * Constant-time comparison of the access key header with the configured key. Both sides are hashed first so
 * the comparison does not even leak the key's length.
 */
export function accessKeyMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export interface DeliveryResponse {
  requestId: string;
  /** Unix milliseconds at which the response was written. */
  timestamp: number;
  errorMessage?: string;
}

export function deliveryResponse(requestId: string, now: number, errorMessage?: string): DeliveryResponse {
  return { requestId, timestamp: now, ...(errorMessage ? { errorMessage } : {}) };
}
