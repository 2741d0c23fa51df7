// SQS on its JSON wire protocol (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Op>`, awsQueryCompatible error
// codes): CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage (long polling with WaitTimeSeconds,
// VisibilityTimeout, system attributes), DeleteMessage, DeleteMessageBatch, GetQueueAttributes. Limits as
// SQS enforces them: 1-10 messages per receive, 0-20 s waits, 0-43,200 s visibility, 10 entries per batch.
import { SimAwsError } from "./protocol.js";
import { nonExistentQueue, type QueueRec, type SqsMessage, type SqsState } from "./sqs-state.js";

const invalid = (message: string) =>
  new SimAwsError("InvalidParameterValue", message, 400, "InvalidParameterValue");

function intParam(
  params: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw invalid(
      `Value ${JSON.stringify(v)} for parameter ${key} is invalid. Must be between ${min} and ${max}.`,
    );
  return v;
}

export function queueUrl(base: string, accountId: string, q: QueueRec): string {
  return `${base}/${accountId}/${q.name}`;
}

function attributes(sqs: SqsState, q: QueueRec, names: unknown): Record<string, string> {
  const { visible, inFlight } = sqs.counts(q);
  const all: Record<string, string> = {
    ...q.attributes,
    QueueArn: q.arn,
    ApproximateNumberOfMessages: String(visible),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: "0",
    VisibilityTimeout: String(q.visibilityTimeoutSeconds),
    CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
  };
  const wanted = Array.isArray(names) ? (names as string[]) : [];
  if (wanted.includes("All")) return all;
  return Object.fromEntries(wanted.filter((n) => n in all).map((n) => [n, all[n]!]));
}

function renderMessage(m: SqsMessage, systemNames: string[]): Record<string, unknown> {
  const system: Record<string, string> = {
    SentTimestamp: String(m.sentAt),
    ApproximateReceiveCount: String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
  };
  const all = systemNames.includes("All");
  const attrs = Object.fromEntries(Object.entries(system).filter(([k]) => all || systemNames.includes(k)));
  return {
    MessageId: m.id,
    ReceiptHandle: m.receipt,
    MD5OfBody: m.md5,
    Body: m.body,
    ...(Object.keys(attrs).length > 0 ? { Attributes: attrs } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a message may be visible, the wait ends, or the server closes (whichever first). */
async function waitForMessages(q: QueueRec, untilMs: number, now: () => number): Promise<void> {
  // Wake on a new message; poll at 50 ms for in-flight messages whose visibility timeout runs out.
  let wake: () => void = () => {};
  const woken = new Promise<void>((r) => (wake = r));
  q.waiters.add(wake);
  try {
    await Promise.race([woken, sleep(Math.max(0, Math.min(50, untilMs - now())))]);
  } finally {
    q.waiters.delete(wake);
  }
}

export async function handleSqs(
  sqs: SqsState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
  base: string,
  closed: () => boolean,
): Promise<unknown> {
  const now = sqs.ctx.now;
  switch (operation) {
    case "CreateQueue": {
      if (typeof params.QueueName !== "string") throw invalid("QueueName is required");
      const attrs = (params.Attributes ?? {}) as Record<string, string>;
      const q = sqs.createQueue(params.QueueName, region, attrs);
      return { QueueUrl: queueUrl(base, sqs.ctx.accountId, q) };
    }
    case "GetQueueUrl": {
      const q = typeof params.QueueName === "string" ? sqs.find(params.QueueName) : undefined;
      if (!q) throw nonExistentQueue();
      return { QueueUrl: queueUrl(base, sqs.ctx.accountId, q) };
    }
    case "SendMessage": {
      const q = sqs.require(params.QueueUrl);
      if (typeof params.MessageBody !== "string" || params.MessageBody === "")
        throw new SimAwsError("MissingParameter", "The request must contain the parameter MessageBody.");
      const m = sqs.send(q, params.MessageBody);
      return { MessageId: m.id, MD5OfMessageBody: m.md5 };
    }
    case "ReceiveMessage": {
      const q = sqs.require(params.QueueUrl);
      const max = intParam(params, "MaxNumberOfMessages", 1, 10) ?? 1;
      const wait = intParam(params, "WaitTimeSeconds", 0, 20) ?? 0;
      const visibility = intParam(params, "VisibilityTimeout", 0, 43_200) ?? q.visibilityTimeoutSeconds;
      const names = [
        ...((params.MessageSystemAttributeNames as string[] | undefined) ?? []),
        ...((params.AttributeNames as string[] | undefined) ?? []),
      ];
      const until = now() + wait * 1000;
      for (;;) {
        const got = sqs.receive(q, max, visibility);
        if (got.length > 0) return { Messages: got.map((m) => renderMessage(m, names)) };
        if (now() >= until || closed()) return {};
        await waitForMessages(q, until, now);
      }
    }
    case "DeleteMessage": {
      const q = sqs.require(params.QueueUrl);
      sqs.delete(q, params.ReceiptHandle);
      return {};
    }
    case "DeleteMessageBatch": {
      const q = sqs.require(params.QueueUrl);
      const entries = (params.Entries ?? []) as { Id?: string; ReceiptHandle?: string }[];
      if (!Array.isArray(entries) || entries.length === 0)
        throw new SimAwsError(
          "EmptyBatchRequest",
          "There should be at least one DeleteMessageBatchRequestEntry in the request.",
          400,
          "AWS.SimpleQueueService.EmptyBatchRequest",
        );
      if (entries.length > 10)
        throw new SimAwsError(
          "TooManyEntriesInBatchRequest",
          `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
          400,
          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        );
      const Successful: { Id: string }[] = [];
      const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
      for (const e of entries) {
        try {
          sqs.delete(q, e.ReceiptHandle);
          Successful.push({ Id: String(e.Id) });
        } catch (err) {
          const x = err as SimAwsError;
          Failed.push({ Id: String(e.Id), SenderFault: true, Code: x.code, Message: x.message });
        }
      }
      return { Successful, Failed };
    }
    case "GetQueueAttributes": {
      const q = sqs.require(params.QueueUrl);
      return { Attributes: attributes(sqs, q, params.AttributeNames) };
    }
    default:
      throw new SimAwsError(
        "UnsupportedOperation",
        `the simulated SQS does not implement ${operation}`,
        400,
        "AWS.SimpleQueueService.UnsupportedOperation",
      );
  }
}
