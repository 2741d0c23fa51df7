// Client-side pacing on an injected clock: buckets start full, refill continuously, group operations as AWS
// documents, bound concurrency per bucket and their queues, and never let more requests out than the bucket
// allows (burst + rate x elapsed), so AWS has nothing to throttle.
import { DescribeTaskDefinitionCommand, DescribeTasksCommand } from "@aws-sdk/client-ecs";
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { AWS_BUCKETS, Bucket, Pacer, PacerQueueFull, type Clock } from "../../core/pacer.js";
import { mockJson, testClients } from "../helpers/aws-nock.js";

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

/** Time moves only when a test advances it; sleepers wake in order of their due time. */
class ManualClock implements Clock {
  private t = 0;
  private sleepers: { at: number; wake: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ at: this.t + ms, wake }));
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > end) break;
      this.sleepers.shift();
      this.t = next.at;
      next.wake();
    }
    this.t = end;
    await settle();
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

/** Acquires `n` times and counts the admissions as they happen. */
function acquireMany(bucket: Bucket, n: number): { admitted: () => number } {
  let admitted = 0;
  for (let i = 0; i < n; i++) void bucket.acquire().then(() => admitted++);
  return { admitted: () => admitted };
}

const spec = { name: "test:bucket", burst: 10, refillPerSecond: 5 };

describe("Bucket", () => {
  it("starts full: a burst less one token of headroom goes at once, the next request waits for a refill", async () => {
    const clock = new ManualClock();
    const calls = acquireMany(new Bucket(spec, 100, clock), 10);
    await settle();
    expect(calls.admitted()).toBe(9);
    await clock.advance(199);
    expect(calls.admitted()).toBe(9);
    await clock.advance(1);
    expect(calls.admitted()).toBe(10);
  });

  it("refills continuously at its rate and never above its burst", async () => {
    const clock = new ManualClock();
    const bucket = new Bucket(spec, 100, clock);
    acquireMany(bucket, 9);
    await settle();
    // 1 + 0.5 s at 5 per second: 3.5 tokens, so two requests go now (one stays as headroom) and the third
    // when the headroom is whole again.
    await clock.advance(500);
    const more = acquireMany(bucket, 3);
    await settle();
    expect(more.admitted()).toBe(2);
    await clock.advance(100);
    expect(more.admitted()).toBe(3);
    // An idle minute fills the bucket to its burst, not to 300 tokens.
    await clock.advance(60_000);
    const after = acquireMany(bucket, 10);
    await settle();
    expect(after.admitted()).toBe(9);
  });

  it("admits at most `concurrency` requests at once; a release lets the next one in", async () => {
    const clock = new ManualClock();
    const bucket = new Bucket(spec, 2, clock);
    const calls = acquireMany(bucket, 3);
    await settle();
    expect(calls.admitted()).toBe(2);
    bucket.release();
    await settle();
    expect(calls.admitted()).toBe(3);
  });

  it("rejects a request beyond its queue bound with an error naming the bucket", async () => {
    const clock = new ManualClock();
    const bucket = new Bucket({ ...spec, burst: 1 }, 100, clock, 2);
    const calls = acquireMany(bucket, 3);
    const rejected = bucket.acquire();
    await expect(rejected).rejects.toBeInstanceOf(PacerQueueFull);
    await expect(rejected).rejects.toThrow(/test:bucket: 2 AWS requests already wait/);
    // The queued ones still go, one per refill.
    await clock.advance(400);
    expect(calls.admitted()).toBe(3);
  });
});

describe("Pacer", () => {
  it("groups operations as AWS does: ListTasks waits behind DescribeTasks, task definitions do not", async () => {
    const clock = new ManualClock();
    const pacer = new Pacer("ecs", 1000, undefined, clock);
    const started: string[] = [];
    const call = (op: string) => void pacer.run(op, async () => void started.push(op));
    for (let i = 0; i < 99; i++) call("DescribeTasks");
    call("ListTasks");
    call("DescribeTaskDefinition");
    call("ListNamespacesOrAnythingUnlisted");
    await settle();
    expect(started.filter((op) => op === "DescribeTasks")).toHaveLength(99);
    expect(started).not.toContain("ListTasks");
    expect(started).toContain("DescribeTaskDefinition");
    expect(started).toContain("ListNamespacesOrAnythingUnlisted");
    await clock.advance(50);
    expect(started).toContain("ListTasks");
  });

  it("bounds concurrency per bucket: a slow bucket does not hold back another one", async () => {
    const pacer = new Pacer("ecs", 2, undefined, new ManualClock());
    const hold: (() => void)[] = [];
    const started: string[] = [];
    const slow = () =>
      void pacer.run("DescribeTasks", () => new Promise<void>((r) => hold.push(r)).then(() => undefined));
    slow();
    slow();
    slow();
    void pacer.run("DescribeTaskDefinition", async () => void started.push("td"));
    await settle();
    expect(hold).toHaveLength(2);
    expect(started).toEqual(["td"]);
    hold.shift()!();
    await settle();
    expect(hold).toHaveLength(2);
  });

  it("a throttle-prone flood never sends more than burst + rate x elapsed, and all of it goes", async () => {
    const clock = new ManualClock();
    const metrics = createSelfMetrics({ defaults: false });
    const pacer = new Pacer("ecs", 1000, metrics, clock);
    const { burst, refillPerSecond } = AWS_BUCKETS.ecs.find((b) => b.operations.includes("DescribeTasks"))!;
    const sent: number[] = [];
    const ops = ["DescribeTasks", "ListTasks", "DescribeContainerInstances"];
    const done = Promise.all(
      Array.from({ length: 400 }, (_, i) => pacer.run(ops[i % 3]!, async () => void sent.push(clock.now()))),
    );
    for (let t = 0; t <= 20_000; t += 7) {
      expect(sent.filter((at) => at <= t).length).toBeLessThanOrEqual(burst + (refillPerSecond * t) / 1000);
      await clock.advance(7);
    }
    await done;
    expect(sent).toHaveLength(400);
    // The requests beyond the burst waited for tokens: the wait shows on the metric of their bucket.
    // Every bucket's series exists from the start (at 0); only the flooded one grew.
    const wait = (await metrics.awsTokenWait.get()).values;
    const grown = wait.filter((v) => v.value > 0).map((v) => v.labels);
    expect(grown).toEqual([{ service: "ecs", bucket: "ecs:cluster-resource-read" }]);
    expect(wait.map((v) => v.labels.bucket)).toContain("ecs:task-definition-read");
  });

  it("paces an SDK client's requests by their operation (the plugin sees every attempt)", async () => {
    const clock = new ManualClock();
    const client = await testClients().ecs();
    client.middlewareStack.use(new Pacer("ecs", 1000, undefined, clock).plugin());
    const ecs = mockJson({
      DescribeTaskDefinition: () => ({ taskDefinition: { family: "web" } }),
      DescribeTasks: () => ({ tasks: [], failures: [] }),
    });
    try {
      const defs = Array.from({ length: 50 }, () =>
        client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web:1" })),
      );
      await client.send(new DescribeTasksCommand({ cluster: "c", tasks: ["t"] }));
      await Promise.all(defs.slice(0, 49));
      expect(ecs.calls.DescribeTaskDefinition).toBe(49);
      await clock.advance(50);
      await defs[49];
      expect(ecs.calls.DescribeTaskDefinition).toBe(50);
    } finally {
      client.destroy();
    }
  });
});
