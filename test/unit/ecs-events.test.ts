// The ECS source in events mode (sd/ecs/events.ts) over the fake ECS API and a fake queue: new tasks are
// described alone and added, stopped ones removed, stale and duplicate versions dropped, draining tasks kept
// until they stop or their grace ends, and a message deleted only once its event is applied.
import type { Task } from "@aws-sdk/client-ecs";
import { ServerException } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import {
  BURST_RECEIVERS,
  EcsEventSource,
  RECEIVE_MAX_MESSAGES,
  parseTaskEvent,
  queueRegion,
  type EventQueue,
  type QueueMessage,
} from "../../sd/ecs/events.js";
import { EcsSource } from "../../sd/ecs/source.js";
import type { SourceRefresh } from "../../sd/refresh.js";
import { testConfig } from "../helpers/config.js";
import { FakeEcsApi, fakeScope } from "../helpers/ecs-fake.js";
import {
  ACCOUNT,
  CLUSTER,
  CLUSTER_ARN,
  REGION,
  fargateTask,
  taskDefinition,
  tdArn,
} from "../helpers/ecs-fixtures.js";

const TD = taskDefinition("api", 1, "awsvpc", [
  {
    name: "app",
    dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
    portMappings: [{ containerPort: 9100 }],
  },
]);
const task = (id: string, ip: string): Task => fargateTask(id, tdArn("api", 1), ip, { containers: ["app"] });

/** An SQS queue in memory: batches handed to receive in order; deletes and receives in flight recorded. */
class FakeQueue implements EventQueue {
  readonly url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bridge-events`;
  readonly deleted: string[] = [];
  /** Receives waiting or answering now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  private readonly inbox: QueueMessage[][] = [];
  private readonly waiters = new Set<() => void>();
  private n = 0;

  async depth(): Promise<number> {
    return this.inbox.flat().length;
  }

  async receive(signal: AbortSignal, waitSeconds?: number): Promise<QueueMessage[]> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      // A round trip, as SQS answers: receives started together overlap.
      await new Promise((resolve) => setImmediate(resolve));
      const next = this.inbox.shift();
      if (next || waitSeconds === 0 || signal.aborted) return next ?? [];
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return [];
    } finally {
      this.inFlight--;
    }
  }

  async delete(receipts: string[]): Promise<number> {
    this.deleted.push(...receipts);
    return 0;
  }

  /** Delivers one batch; returns the receipt handles. */
  push(...bodies: string[]): string[] {
    const batch = bodies.map((body) => ({ body, receipt: `r${++this.n}`, sentAt: Date.now() }));
    this.inbox.push(batch);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return batch.map((m) => m.receipt);
  }
}

function event(
  t: Task,
  lastStatus: string,
  version: number,
  o: { desiredStatus?: string; healthStatus?: string } = {},
): string {
  return JSON.stringify({
    version: "0",
    id: `e-${version}`,
    "detail-type": "ECS Task State Change",
    source: "aws.ecs",
    account: ACCOUNT,
    time: "2026-01-01T00:00:00Z",
    region: REGION,
    resources: [t.taskArn],
    detail: {
      clusterArn: CLUSTER_ARN,
      taskArn: t.taskArn,
      lastStatus,
      desiredStatus: o.desiredStatus ?? (lastStatus === "STOPPED" ? "STOPPED" : "RUNNING"),
      ...(o.healthStatus ? { healthStatus: o.healthStatus } : {}),
      version,
      updatedAt: "2026-01-01T00:00:00.000Z",
    },
  });
}

interface Harness {
  api: FakeEcsApi;
  queue: FakeQueue;
  src: EcsEventSource;
  metrics: SelfMetrics;
  clock: { now: number };
  /** Resolves with the next out-of-cycle refresh the source asks for (events applied). */
  nextApply(): Promise<SourceRefresh>;
}

let running: EcsEventSource | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function harness(tasks: Task[], env: Record<string, string> = {}, taskDefs = [TD]): Promise<Harness> {
  const api = new FakeEcsApi({ taskDefs, tasks });
  const queue = new FakeQueue();
  const metrics = createSelfMetrics({ defaults: false });
  const clock = { now: 1_000_000 };
  const config = testConfig({
    BRIDGE_CLUSTERS: CLUSTER,
    BRIDGE_ECS_EVENTS_ENABLED: "true",
    BRIDGE_ECS_EVENTS_QUEUE_URLS: queue.url,
    ...env,
  });
  const deps = {
    scopes: [fakeScope()],
    config,
    metrics,
    logger: silentLogger,
    now: () => clock.now,
  };
  const src = new EcsEventSource(new EcsSource({ ...deps, api: () => api }), { ...deps, queues: [queue] });
  running = src;
  let waiting: ((r: SourceRefresh) => void) | undefined;
  src.onChange(async () => {
    const r = await src.refresh();
    waiting?.(r);
  });
  await src.refresh(); // the reconcile; then the queue is polled
  return {
    api,
    queue,
    src,
    metrics,
    clock,
    nextApply: () => new Promise((resolve) => (waiting = resolve)),
  };
}

function addressesIn(r: SourceRefresh): string[] {
  return r.units
    .flatMap((u) => (u.ok ? u.targets : []))
    .map((t) => t.group.targets[0]!)
    .sort();
}

async function outcomes(metrics: SelfMetrics): Promise<Record<string, number>> {
  const m = await metrics.registry.getSingleMetric("ecs_bridge_ecs_events_total")!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.outcome), v.value]));
}

describe("ECS events", () => {
  it("a RUNNING event for an unknown task describes only that task and adds it; the message is deleted after", async () => {
    const t1 = task("t1", "10.0.0.1");
    const h = await harness([t1]);
    const t2 = task("t2", "10.0.0.2");
    h.api.world.tasks.push(t2);
    const applied = h.nextApply();
    const [receipt] = h.queue.push(event(t2, "RUNNING", 2));
    const r = await applied;
    expect(addressesIn(r)).toEqual(["10.0.0.1:9100", "10.0.0.2:9100"]);
    expect(h.api.requests.DescribeTasks.at(-1)!.taskArns).toEqual([t2.taskArn]);
    expect(h.api.calls.ListTasks).toBe(1);
    expect(h.queue.deleted).toEqual([receipt]);
  });

  it("a burst (receives coming back full) is drained by short polls beside the long poll; when quiet, one long poll waits", async () => {
    const h = await harness([]);
    const tasks = Array.from({ length: 45 }, (_, i) => task(`b${i}`, `10.0.6.${i}`));
    h.api.world.tasks.push(...tasks);
    expect(h.queue.inFlight).toBe(1); // the long poll, waiting
    // A deployment: four full receives' worth and a partial one, waiting in the queue together.
    const receipts = [];
    for (let i = 0; i < tasks.length; i += RECEIVE_MAX_MESSAGES)
      receipts.push(
        ...h.queue.push(...tasks.slice(i, i + RECEIVE_MAX_MESSAGES).map((t) => event(t, "RUNNING", 1))),
      );
    while (h.queue.deleted.length < receipts.length) await new Promise((r) => setTimeout(r, 10));
    expect(h.queue.maxInFlight).toBeGreaterThan(1);
    expect(h.queue.maxInFlight).toBeLessThanOrEqual(1 + BURST_RECEIVERS);
    expect(h.queue.deleted.sort()).toEqual(receipts.sort());
    // Drained: the short polls stopped at their first receive that was not full.
    expect(h.queue.inFlight).toBe(1);
    expect(addressesIn(await h.src.refresh())).toHaveLength(tasks.length);
    // New tasks only, 100 per DescribeTasks call.
    expect(h.api.requests.DescribeTasks.flatMap((r) => r.taskArns).sort()).toEqual(
      tasks.map((t) => t.taskArn).sort(),
    );
  });

  it("a stopped task is removed; a late RUNNING event (older version) does not bring it back", async () => {
    const t1 = task("t1", "10.0.0.1");
    const t2 = task("t2", "10.0.0.2");
    const h = await harness([t1, t2]);
    let applied = h.nextApply();
    h.queue.push(event(t2, "STOPPED", 5));
    expect(addressesIn(await applied)).toEqual(["10.0.0.1:9100"]);
    const receipts = h.queue.push(event(t2, "RUNNING", 3), event(t2, "STOPPED", 5));
    // Nothing to apply: both are dropped (and deleted) at once.
    await new Promise((r) => setTimeout(r, 50));
    expect(h.queue.deleted).toEqual(expect.arrayContaining(receipts));
    expect(await outcomes(h.metrics)).toMatchObject({ applied: 1, stale: 1, duplicate: 1 });
    applied = h.nextApply();
    // A health status in an event (AWS's never has one) is not taken: health comes from describes.
    h.queue.push(event(t1, "RUNNING", 7, { healthStatus: "UNHEALTHY" }));
    const r = await applied;
    expect(addressesIn(r)).toEqual(["10.0.0.1:9100"]);
    const labels = r.units[0]!.ok ? r.units[0]!.targets[0]!.group.labels : {};
    expect(labels.__meta_ecs_health_status).toBe("HEALTHY");
  });

  it("health follows tasks with a container health check, though events carry none: described again every refresh interval", async () => {
    const checkedDef = {
      ...TD,
      taskDefinitionArn: tdArn("checked", 1),
      family: "checked",
      containerDefinitions: TD.containerDefinitions!.map((c) => ({
        ...c,
        healthCheck: { command: ["CMD-SHELL", "curl -f localhost:9100/health"] },
      })),
    };
    const checked: Task = {
      ...fargateTask("h1", tdArn("checked", 1), "10.0.5.1", { containers: ["app"] }),
      version: 4,
    };
    const plain: Task = { ...task("p1", "10.0.5.2"), version: 4 };
    const h = await harness([checked, plain], {}, [TD, checkedDef]);
    const describedSince = (n: number) => h.api.requests.DescribeTasks.slice(n).flatMap((r) => r.taskArns);
    const health = (r: SourceRefresh) =>
      Object.fromEntries(
        (r.units[0]!.ok ? r.units[0]!.targets : []).map((t) => [
          t.group.targets[0],
          t.group.labels.__meta_ecs_health_status,
        ]),
      );
    // The first refresh after the reconcile makes a health pass: only the health-checked task is described.
    let n = h.api.requests.DescribeTasks.length;
    await h.src.refresh();
    expect(describedSince(n)).toEqual([checked.taskArn]);

    // It turns unhealthy; no event says so (AWS's events have no health status).
    h.api.world.tasks[0] = { ...checked, healthStatus: "UNHEALTHY", version: 5 };
    n = h.api.requests.DescribeTasks.length;
    h.clock.now += 5_000;
    expect(health(await h.src.refresh())["10.0.5.1:9100"]).toBe("HEALTHY"); // within the interval: no call
    expect(describedSince(n)).toEqual([]);
    h.clock.now += 30_000; // ecs.redescribeEveryRefreshes (1) x refreshIntervalSeconds (30)
    const r = await h.src.refresh();
    expect(describedSince(n)).toEqual([checked.taskArn]);
    expect(health(r)).toEqual({ "10.0.5.1:9100": "UNHEALTHY", "10.0.5.2:9100": "HEALTHY" });
    expect(h.api.calls.ListTasks).toBe(1); // still the reconcile's walk only
  });

  it("events received in one window: each task's newest version wins, whatever the order", async () => {
    const h = await harness([task("t1", "10.0.0.1")]);
    const t3 = task("t3", "10.0.0.3");
    h.api.world.tasks.push(t3);
    const applied = h.nextApply();
    h.queue.push(event(t3, "STOPPED", 6), event(t3, "RUNNING", 2), event(t3, "RUNNING", 2));
    const r = await applied;
    expect(addressesIn(r)).toEqual(["10.0.0.1:9100"]);
    expect(h.api.calls.DescribeTasks ?? 0).toBe(1); // the reconcile's only
    expect(h.queue.deleted).toHaveLength(3);
  });

  it("a draining task stays a target until it leaves RUNNING, at most the grace", async () => {
    const t1 = task("t1", "10.0.0.1");
    const t2 = task("t2", "10.0.0.2");
    const h = await harness([t1, t2], { BRIDGE_ECS_EVENTS_DRAINING_GRACE_SECONDS: "60" });
    let applied = h.nextApply();
    h.queue.push(
      event(t1, "RUNNING", 4, { desiredStatus: "STOPPED" }),
      event(t2, "RUNNING", 4, { desiredStatus: "STOPPED" }),
    );
    let r = await applied;
    expect(addressesIn(r)).toEqual(["10.0.0.1:9100", "10.0.0.2:9100"]);
    const desired = r.units[0]!.ok
      ? r.units[0]!.targets.map((t) => t.group.labels.__meta_ecs_desired_status)
      : [];
    expect(desired).toEqual(["STOPPED", "STOPPED"]);
    // t1 stops; t2 never reports and is dropped once its grace has run out.
    applied = h.nextApply();
    h.queue.push(event(t1, "STOPPED", 5));
    expect(addressesIn(await applied)).toEqual(["10.0.0.2:9100"]);
    h.clock.now += 60_000;
    r = await h.src.refresh();
    expect(addressesIn(r)).toEqual([]);
  });

  it("a message whose event could not be applied is not deleted; its redelivery is applied", async () => {
    const h = await harness([task("t1", "10.0.0.1")]);
    const t2 = task("t2", "10.0.0.2");
    h.api.world.tasks.push(t2);
    h.api.world.failing = { DescribeTasks: new ServerException({ message: "boom", $metadata: {} }) };
    let applied = h.nextApply();
    h.queue.push(event(t2, "RUNNING", 2));
    const failed = await applied;
    expect(failed.units.find((u) => !u.ok)?.unit).toBe(`default/${REGION}/${CLUSTER}`);
    expect(h.queue.deleted).toEqual([]);
    h.api.world.failing = {};
    applied = h.nextApply();
    const [again] = h.queue.push(event(t2, "RUNNING", 2)); // after the visibility timeout
    expect(addressesIn(await applied)).toEqual(["10.0.0.1:9100", "10.0.0.2:9100"]);
    expect(h.queue.deleted).toEqual([again]);
  });

  it("ignores events of clusters it does not follow and bodies that are not task state changes", async () => {
    const h = await harness([task("t1", "10.0.0.1")]);
    const other = { ...task("x", "10.0.0.9"), clusterArn: CLUSTER_ARN.replace("/prod", "/other") };
    const receipts = h.queue.push(
      event(other, "RUNNING", 2).replace(CLUSTER_ARN, other.clusterArn),
      "not json",
      JSON.stringify({ source: "aws.ecs", "detail-type": "ECS Container Instance State Change", detail: {} }),
    );
    await new Promise((r) => setTimeout(r, BATCH_WAIT));
    await h.src.refresh();
    expect([...h.queue.deleted].sort()).toEqual(receipts.sort());
    expect((await outcomes(h.metrics)).ignored).toBe(3);
  });
});

const BATCH_WAIT = 300;

describe("event parsing", () => {
  it("reads the fields discovery uses and rejects other shapes", () => {
    const t = task("t1", "10.0.0.1");
    expect(parseTaskEvent(event(t, "RUNNING", 3, { healthStatus: "HEALTHY" }))).toEqual({
      account: ACCOUNT,
      region: REGION,
      clusterArn: CLUSTER_ARN,
      taskArn: t.taskArn,
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      version: 3,
    });
    expect(parseTaskEvent(event(t, "RUNNING", 3).replace('"version":3', '"version":"3"'))).toBeUndefined();
    expect(parseTaskEvent("[]")).toBeUndefined();
    expect(parseTaskEvent("null")).toBeUndefined();
  });

  it("takes a queue's region from its URL", () => {
    expect(queueRegion("https://sqs.eu-west-1.amazonaws.com/123456789012/q")).toBe("eu-west-1");
    expect(queueRegion("https://eu-west-1.queue.amazonaws.com/123456789012/q")).toBe("eu-west-1");
    expect(queueRegion("http://127.0.0.1:4566/123456789012/q")).toBeUndefined();
  });
});
