// EventBridge delivery of ECS task state changes: every change of a task's status (created, RUNNING,
// desired STOPPED, STOPPED) becomes an "ECS Task State Change" event shaped as in the ECS developer guide
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html) and is sent to the SQS
// queues subscribed to the rule, as EventBridge does: at least once, in no guaranteed order. The switches
// make that visible: duplicates, reordering, delay and loss (seeded, reproducible). The event carries no
// health status (the documented event has none, task or container), and a change of health alone sends
// none (the documentation does not promise one): the harder case for a consumer.
import { randomUUID } from "node:crypto";
import type { TaskRec } from "./ecs-model.js";
import { renderTask, type EcsOptions } from "./ecs-render.js";
import type { EcsState } from "./ecs-state.js";
import { seededRandom } from "./faults.js";
import type { SqsState } from "./sqs-state.js";

export interface EventDeliveryOptions {
  /** Probability (0..1) that an event is delivered twice. */
  duplicateRate?: number;
  /** Probability (0..1) that an event is held back up to reorderMs, so later ones overtake it. */
  reorderRate?: number;
  reorderMs?: number;
  /** Every delivery waits this long (EventBridge is not instantaneous). */
  delayMs?: number;
  /** Probability (0..1) that an event is never delivered. */
  lossRate?: number;
}

export interface TaskStateChangeEvent {
  version: "0";
  id: string;
  "detail-type": "ECS Task State Change";
  source: "aws.ecs";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

// Epoch-seconds fields of DescribeTasks that events carry as ISO 8601 strings.
const TIME_FIELDS = [
  "connectivityAt",
  "createdAt",
  "executionStoppedAt",
  "pullStartedAt",
  "pullStoppedAt",
  "startedAt",
  "stoppedAt",
  "stoppingAt",
];

export function taskStateChangeEvent(ecs: EcsState, task: TaskRec, opts: EcsOptions): TaskStateChangeEvent {
  const now = ecs.ctx.now();
  const { healthStatus: _taskHealth, containers, ...described } = renderTask(ecs, task, false, opts);
  const detail: Record<string, unknown> = {
    ...described,
    containers: containers?.map(({ healthStatus: _containerHealth, ...c }) => c),
  };
  for (const k of TIME_FIELDS)
    if (typeof detail[k] === "number") detail[k] = new Date((detail[k] as number) * 1000).toISOString();
  detail.updatedAt = new Date(now).toISOString();
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "ECS Task State Change",
    source: "aws.ecs",
    account: ecs.ctx.accountId,
    // EventBridge's `time` has second precision.
    time: new Date(Math.floor(now / 1000) * 1000).toISOString().replace(".000Z", "Z"),
    region: task.cluster.region,
    resources: [task.arn],
    detail,
  };
}

export class EventBus {
  private readonly targets = new Set<string>();
  private opts: EventDeliveryOptions = {};
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  /** Events sent to each queue (duplicates count twice), and events lost. */
  delivered = 0;
  lost = 0;

  constructor(
    private readonly ecs: EcsState,
    private readonly sqs: SqsState,
    private readonly ecsOpts: EcsOptions,
    seed = 42,
  ) {
    this.random = seededRandom(seed);
    ecs.onTaskChange = (task, healthOnly) => {
      if (!healthOnly) this.publish(task);
    };
  }

  /** Adds a queue (name, ARN or URL) as a target of the ECS task state change rule. */
  subscribe(queue: string): void {
    const q = this.sqs.find(queue);
    if (!q) throw new Error(`subscribeTaskEvents: unknown queue ${queue}`);
    this.targets.add(q.name);
  }

  unsubscribe(queue: string): void {
    const q = this.sqs.find(queue);
    if (q) this.targets.delete(q.name);
  }

  setDelivery(opts: EventDeliveryOptions): void {
    this.opts = { ...opts };
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private publish(task: TaskRec): void {
    if (this.targets.size === 0) return;
    const body = JSON.stringify(taskStateChangeEvent(this.ecs, task, this.ecsOpts));
    const o = this.opts;
    for (const name of this.targets) {
      if ((o.lossRate ?? 0) > 0 && this.random() < o.lossRate!) {
        this.lost++;
        continue;
      }
      const copies = (o.duplicateRate ?? 0) > 0 && this.random() < o.duplicateRate! ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        let delay = o.delayMs ?? 0;
        if ((o.reorderRate ?? 0) > 0 && this.random() < o.reorderRate!)
          delay += Math.ceil(this.random() * (o.reorderMs ?? 1000));
        this.deliver(name, body, delay);
      }
    }
  }

  private deliver(name: string, body: string, delayMs: number): void {
    const send = () => {
      const q = this.sqs.queues.get(name);
      if (!q) return;
      this.sqs.send(q, body);
      this.delivered++;
    };
    if (delayMs <= 0) return send();
    const t = setTimeout(() => {
      this.timers.delete(t);
      send();
    }, delayMs);
    this.timers.add(t);
  }
}
