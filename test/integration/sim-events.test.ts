// SQS and EventBridge task state change delivery on the simulated AWS endpoint, through the real SQS
// client: queues, long polling, visibility timeouts, batch deletes, queue attributes, and the ECS task state
// change events a started, unhealthy, draining and stopped task emits, with duplicates, reordering and loss.
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
} from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { destroyClients, type AwsClients } from "../../core/aws.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { rejection, simClients } from "./sim-helpers.js";

const SCENARIO: Scenario = {
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      containerDefinitions: [
        {
          name: "api",
          portMappings: [{ containerPort: 9100, name: "metrics" }],
          healthCheck: { command: ["CMD-SHELL", "true"] },
        },
      ],
    },
  ],
  clusters: [{ name: "prod", services: [{ name: "api", taskDefinition: "api", desiredCount: 1 }] }],
};

let sim: SimAws | undefined;
let clients: AwsClients | undefined;
afterEach(async () => {
  if (clients) destroyClients(clients);
  await sim?.close();
  sim = undefined;
  clients = undefined;
});

async function setup(): Promise<{ sim: SimAws; c: AwsClients; url: string }> {
  sim = await startSimAws({ scenario: SCENARIO });
  clients = simClients(sim);
  const { QueueUrl } = await (await clients.sqs()).send(new CreateQueueCommand({ QueueName: "ecs-events" }));
  return { sim, c: clients, url: QueueUrl! };
}

async function receiveAll(c: AwsClients, url: string, waitSeconds = 0): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await (
      await c.sqs()
    ).send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: out.length === 0 ? waitSeconds : 0,
        MessageSystemAttributeNames: ["SentTimestamp"],
      }),
    );
    if (!r.Messages?.length) return out;
    out.push(...r.Messages);
  }
}

interface EventBody {
  "detail-type": string;
  source: string;
  account: string;
  region: string;
  resources: string[];
  detail: {
    taskArn: string;
    clusterArn: string;
    lastStatus: string;
    desiredStatus: string;
    healthStatus?: string;
    version: number;
    group: string;
    updatedAt: string;
    createdAt: string;
    containers: { name: string; networkInterfaces: { privateIpv4Address: string }[] }[];
    attachments: { type: string }[];
  };
}

const bodies = (ms: Message[]) => ms.map((m) => JSON.parse(m.Body!) as EventBody);

describe("simulated SQS", () => {
  it("creates queues, sends, receives with a visibility timeout, deletes, and counts messages", async () => {
    const { c, url } = await setup();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/123456789012\/ecs-events$/);
    expect((await (await c.sqs()).send(new GetQueueUrlCommand({ QueueName: "ecs-events" }))).QueueUrl).toBe(
      url,
    );
    for (const n of [1, 2, 3])
      await (await c.sqs()).send(new SendMessageCommand({ QueueUrl: url, MessageBody: `m${n}` }));
    const attrs = async () =>
      (
        await (
          await c.sqs()
        ).send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          }),
        )
      ).Attributes;
    expect(await attrs()).toEqual({
      ApproximateNumberOfMessages: "3",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
    const first = await (
      await c.sqs()
    ).send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 2, VisibilityTimeout: 0 }));
    expect(first.Messages?.map((m) => m.Body)).toEqual(["m1", "m2"]);
    // Visibility 0: received again at once. Then 60 s: in flight, not received again.
    const again = await (
      await c.sqs()
    ).send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    expect(again.Messages).toHaveLength(3);
    expect(await attrs()).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "3",
    });
    expect(
      (await (await c.sqs()).send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages,
    ).toBeUndefined();
    const [a, b, d] = again.Messages!;
    await (await c.sqs()).send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: a!.ReceiptHandle! }));
    const batch = await (
      await c.sqs()
    ).send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "b", ReceiptHandle: b!.ReceiptHandle! },
          { Id: "d", ReceiptHandle: d!.ReceiptHandle! },
          { Id: "bad", ReceiptHandle: "not-a-handle" },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(["b", "d"]);
    expect(batch.Failed?.map((f) => [f.Id, f.Code])).toEqual([["bad", "ReceiptHandleIsInvalid"]]);
    expect(await attrs()).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("long polling returns as soon as a message arrives", async () => {
    const { sim, c, url } = await setup();
    const polling = (await c.sqs()).send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
    );
    sim.subscribeTaskEvents("ecs-events");
    setTimeout(() => sim.startTask("prod", { taskDefinition: "api" }), 100);
    const r = await polling;
    expect(r.Messages?.length).toBeGreaterThan(0);
  });

  it("answers SQS's own errors: unknown queue, out-of-range parameters", async () => {
    const { c, url } = await setup();
    const missing = await rejection((await c.sqs()).send(new GetQueueUrlCommand({ QueueName: "nope" })));
    expect(missing.name).toMatch(/QueueDoesNotExist/);
    const range = await rejection(
      (await c.sqs()).send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
    );
    expect(range.name).toBe("InvalidParameterValue");
  });
});

describe("ECS task state change events", () => {
  it("a started, draining and stopped task emits the documented event JSON in version order; health sends none", async () => {
    const { sim, c, url } = await setup();
    sim.subscribeTaskEvents(url);
    const t = sim.startTask("prod", { taskDefinition: "api" });
    sim.setTaskHealth("prod", t.id, "UNHEALTHY");
    sim.drainTask("prod", t.id);
    sim.stopTask("prod", t.id);
    const events = bodies(await receiveAll(c, url));
    // The health change took a version (DescribeTasks shows it) but sent no event.
    expect(events.map((e) => [e.detail.lastStatus, e.detail.desiredStatus, e.detail.version])).toEqual([
      ["RUNNING", "RUNNING", 2],
      ["RUNNING", "STOPPED", 4],
      ["STOPPED", "STOPPED", 5],
    ]);
    const e = events[0]!;
    expect(e["detail-type"]).toBe("ECS Task State Change");
    expect(e.source).toBe("aws.ecs");
    expect(e.account).toBe("123456789012");
    expect(e.region).toBe("us-east-1");
    expect(e.resources).toEqual([t.arn]);
    expect(e.detail.taskArn).toBe(t.arn);
    expect(e.detail.clusterArn).toBe(t.clusterArn);
    expect(e.detail.group).toBe("family:api");
    expect(e.detail.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(e.detail.createdAt).toMatch(/Z$/);
    expect(e.detail.attachments[0]!.type).toBe("ElasticNetworkInterface");
    expect(e.detail.containers[0]!.networkInterfaces[0]!.privateIpv4Address).toBe(t.ip);
    // As documented: no health status, neither the task's nor its containers'.
    for (const ev of events) {
      expect(ev.detail).not.toHaveProperty("healthStatus");
      for (const container of ev.detail.containers) expect(container).not.toHaveProperty("healthStatus");
    }
  });

  it("service scaling emits events; unsubscribed queues get none", async () => {
    const { sim, c, url } = await setup();
    sim.createQueue("other");
    sim.subscribeTaskEvents("ecs-events");
    sim.scaleService("prod", "api", 3);
    expect(bodies(await receiveAll(c, url)).map((e) => e.detail.lastStatus)).toEqual(["RUNNING", "RUNNING"]);
    expect(sim.queueDepth("other")).toEqual({ visible: 0, inFlight: 0 });
  });

  it("duplicates, loss and reordering switches", async () => {
    const { sim, c, url } = await setup();
    sim.subscribeTaskEvents(url);
    sim.setEventDelivery({ duplicateRate: 1 });
    sim.startTask("prod", { taskDefinition: "api" });
    const dup = bodies(await receiveAll(c, url));
    expect(dup).toHaveLength(2);
    expect(dup[0]).toEqual(dup[1]);

    sim.setEventDelivery({ lossRate: 1 });
    sim.startTask("prod", { taskDefinition: "api" });
    expect(sim.queueDepth(url).visible).toBe(0);

    // Held back (reordered) events are overtaken by later ones; delayed ones arrive late.
    sim.setEventDelivery({ reorderRate: 1, reorderMs: 200 });
    const a = sim.startTask("prod", { taskDefinition: "api" });
    sim.setEventDelivery({});
    const b = sim.startTask("prod", { taskDefinition: "api" });
    expect(bodies(await receiveAll(c, url)).map((e) => e.detail.taskArn)).toEqual([b.arn]);
    expect(bodies(await receiveAll(c, url, 2)).map((e) => e.detail.taskArn)).toEqual([a.arn]);
    sim.setEventDelivery({ delayMs: 100 });
    sim.stopTask("prod", b.id);
    expect(sim.queueDepth(url).visible).toBe(0);
    expect(bodies(await receiveAll(c, url, 2)).map((e) => e.detail.lastStatus)).toEqual(["STOPPED"]);
  });
});

describe("/_sim control of queues and events", () => {
  it("creates a queue, subscribes it, sets delivery switches and drains a task over HTTP", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    clients = simClients(sim);
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${sim!.url}${path}`, { method: "POST", body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const q = await post("/_sim/queues", { name: "demo-events" });
    expect(q.body.url).toMatch(/\/123456789012\/demo-events$/);
    expect((await post("/_sim/events/subscribe", { queue: "demo-events" })).status).toBe(200);
    expect((await post("/_sim/events/delivery", { lossRate: "all" })).status).toBe(400);
    expect((await post("/_sim/events/delivery", { duplicateRate: 1 })).status).toBe(200);
    const [task] = sim.tasks({ cluster: "prod" });
    expect((await post("/_sim/tasks/drain", { cluster: "prod", task: task!.id })).status).toBe(200);
    const events = bodies(await receiveAll(clients, String(q.body.url)));
    expect(events.map((e) => [e.detail.lastStatus, e.detail.desiredStatus])).toEqual([
      ["RUNNING", "STOPPED"],
      ["RUNNING", "STOPPED"],
    ]);
  });
});
