// SQS state of one simulated account: standard queues holding messages with visibility timeouts, receive
// counts and the waiters of long polls. Delivery order is arrival order (standard queues promise no order;
// the event bus reorders on purpose when asked to).
import { createHash, randomUUID } from "node:crypto";
import type { AccountContext } from "./context.js";
import { SimAwsError } from "./protocol.js";

export interface SqsMessage {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  /** Epoch ms before which the message is not received (in flight after a receive). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The receipt handle of its latest receive. */
  receipt?: string;
}

export interface QueueRec {
  name: string;
  arn: string;
  region: string;
  visibilityTimeoutSeconds: number;
  createdAt: number;
  attributes: Record<string, string>;
  messages: Map<string, SqsMessage>;
  /** Long polls waiting for a message. */
  waiters: Set<() => void>;
}

export const nonExistentQueue = () =>
  new SimAwsError(
    "QueueDoesNotExist",
    "The specified queue does not exist.",
    400,
    "AWS.SimpleQueueService.NonExistentQueue",
  );

export class SqsState {
  readonly queues = new Map<string, QueueRec>(); // by name

  constructor(readonly ctx: AccountContext) {}

  createQueue(name: string, region: string, attributes: Record<string, string> = {}): QueueRec {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new SimAwsError(
        "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    const existing = this.queues.get(name);
    if (existing) return existing;
    const visibility = Number(attributes.VisibilityTimeout ?? 30);
    const q: QueueRec = {
      name,
      arn: this.ctx.arn("sqs", region, name),
      region,
      visibilityTimeoutSeconds: Number.isFinite(visibility) ? visibility : 30,
      createdAt: this.ctx.now(),
      attributes,
      messages: new Map(),
      waiters: new Set(),
    };
    this.queues.set(name, q);
    return q;
  }

  /** A queue by name, ARN or URL (`<scheme>://<host>/<account>/<name>`). */
  find(ref: string): QueueRec | undefined {
    const name = ref.startsWith("arn:") ? ref.split(":").pop() : ref.split("/").pop();
    return this.queues.get(name ?? "");
  }

  require(ref: unknown): QueueRec {
    const q = typeof ref === "string" ? this.find(ref) : undefined;
    if (!q) throw nonExistentQueue();
    return q;
  }

  send(q: QueueRec, body: string): SqsMessage {
    const now = this.ctx.now();
    const m: SqsMessage = {
      id: randomUUID(),
      body,
      md5: createHash("md5").update(body, "utf8").digest("hex"),
      sentAt: now,
      visibleAt: now,
      receiveCount: 0,
    };
    q.messages.set(m.id, m);
    for (const wake of q.waiters) wake();
    return m;
  }

  /** Up to `max` visible messages, made invisible for `visibilitySeconds`. */
  receive(q: QueueRec, max: number, visibilitySeconds: number): SqsMessage[] {
    const now = this.ctx.now();
    const out: SqsMessage[] = [];
    for (const m of q.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + visibilitySeconds * 1000;
      m.receipt = Buffer.from(JSON.stringify({ q: q.name, m: m.id, n: m.receiveCount })).toString(
        "base64url",
      );
      out.push(m);
    }
    return out;
  }

  /** Deletes by receipt handle; a handle of a message already deleted succeeds, as in SQS. */
  delete(q: QueueRec, receipt: unknown): void {
    let id: unknown;
    try {
      id = (JSON.parse(Buffer.from(String(receipt), "base64url").toString("utf8")) as { m?: unknown }).m;
    } catch {
      id = undefined;
    }
    if (typeof id !== "string")
      throw new SimAwsError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${String(receipt)}" is not a valid receipt handle.`,
        400,
        "ReceiptHandleIsInvalid",
      );
    q.messages.delete(id);
  }

  counts(q: QueueRec): { visible: number; inFlight: number } {
    const now = this.ctx.now();
    let visible = 0;
    for (const m of q.messages.values()) if (m.visibleAt <= now) visible++;
    return { visible, inFlight: q.messages.size - visible };
  }

  /** Ends every long poll (the server is closing). */
  wakeAll(): void {
    for (const q of this.queues.values()) for (const wake of q.waiters) wake();
  }
}
