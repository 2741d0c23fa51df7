// Event-driven ECS discovery (ecs.events): ECS task state change events, which an EventBridge rule sends
// to SQS, reach /sd within seconds, and the full ListTasks walk becomes a reconcile on a long interval.
// EventBridge delivers at least once and in no order, so each task's `detail.version` is kept and older or
// repeated versions are dropped. A RUNNING event for an unknown task adds it to its cluster's task list
// (DescribeTasks for the new tasks only, batched over a short window, 100 per call); a task that leaves
// RUNNING is removed; a RUNNING task whose desired status turns STOPPED stays a target until it leaves
// RUNNING, at most drainingGraceSeconds. A message is deleted only once its event is applied; one whose
// cluster failed to rebuild comes back after its visibility timeout. While a queue fails, every refresh is
// a full walk (polling) and the queue shows as a failing unit on /status. One long poll per queue waits for
// events; while receives come back full (a deployment's burst), a few short polls drain it beside it.
import type { SQSClient } from "@aws-sdk/client-sqs";
import { lruByCount } from "../../core/lru.js";
import { chunk, DEFAULT_CALL_TIMEOUT_SECONDS } from "../../core/aws.js";
import type { Logger } from "../../core/log.js";
import type { SelfMetrics } from "../../core/metrics.js";
import type { AwsScope } from "../../core/scopes.js";
import type { Config } from "../../cmd/config.js";
import { parseArn } from "../model.js";
import type { Source, SourceRefresh, UnitOutcome } from "../refresh.js";
import { healthPassDescribes, type ClusterState } from "./cluster.js";
import { ECS_LABELS } from "./labels.js";
import { EcsSource, type EcsSourceDeps } from "./source.js";
import { clusterNameFromArn } from "./targets.js";

/** Events arriving within this window are applied together (one DescribeTasks per 100 new tasks). */
export const BATCH_WINDOW_MS = 200;
/** Tasks with events waiting to be applied; the pollers wait for an apply beyond this. */
export const MAX_PENDING_TASKS = 10_000;
/** Task versions remembered (least recently used forgotten first); far more than tasks live at once. */
export const MAX_TRACKED_TASKS = 200_000;
/** A received message stays invisible this long; one not deleted by then (not applied) is received again. */
export const VISIBILITY_TIMEOUT_SECONDS = 60;
const MAX_POLL_BACKOFF_MS = 30_000;
/** The most messages one ReceiveMessage returns (SQS's limit). */
export const RECEIVE_MAX_MESSAGES = 10;
/**
 * Short polls run beside a queue's long poll while receives come back full, at most this many: a burst
 * drains several times faster (each receive waits a round trip), in fewer, larger applies.
 */
export const BURST_RECEIVERS = 3;

/**
 * Known tasks are described again once every this many reconciles at least, a share on each (hourly with
 * the default 5-minute interval): their status arrives as events, their health by the health pass, so
 * this catches task tags.
 */
export const RECONCILE_REDESCRIBE_EVERY = 12;
/**
 * Discovery waits up to this much less than its interval between refreshes (its jitter): a health pass is
 * due when this share of the interval has passed, so every scheduled refresh makes one.
 */
const HEALTH_PASS_SLACK = 0.85;

/** The ECS source in events mode, around a full-walk source whose re-describe cadence counts reconciles. */
export function createEcsEventSource(deps: EcsSourceDeps & EcsEventsDeps): EcsEventSource {
  const { ecs } = deps.config;
  const redescribeEveryRefreshes = Math.max(ecs.redescribeEveryRefreshes, RECONCILE_REDESCRIBE_EVERY);
  const config = { ...deps.config, ecs: { ...ecs, redescribeEveryRefreshes } };
  return new EcsEventSource(new EcsSource({ ...deps, config }), deps);
}

/**
 * The fields of an "ECS Task State Change" event discovery uses. AWS's event carries no health status: health
 * comes from describes (the health pass).
 */
export interface TaskEvent {
  account: string;
  region: string;
  clusterArn: string;
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  version: number;
}

/** One message as received: its event body, the handle that deletes it, and when SQS got it. */
export interface QueueMessage {
  body: string;
  receipt: string;
  /** Epoch ms (SentTimestamp). */
  sentAt?: number;
}

/** An SQS queue as the consumer uses it; tests pass a fake. */
export interface EventQueue {
  readonly url: string;
  /** Messages waiting (ApproximateNumberOfMessages); read once when following starts, which checks access. */
  depth(): Promise<number>;
  /** Waits up to `waitSeconds` (default: the long poll's) for messages; 0 answers at once. */
  receive(signal: AbortSignal, waitSeconds?: number): Promise<QueueMessage[]>;
  /** Deletes by receipt handle; resolves with how many could not be deleted. */
  delete(receipts: string[]): Promise<number>;
}

const str = (v: unknown): v is string => typeof v === "string" && v !== "";

/** The task state change in an EventBridge event as SQS delivers it; undefined for anything else. */
export function parseTaskEvent(body: string): TaskEvent | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof e !== "object" || e === null) return undefined;
  if (e.source !== "aws.ecs" || e["detail-type"] !== "ECS Task State Change") return undefined;
  const d = e.detail as Record<string, unknown> | undefined;
  if (!d || !str(e.account) || !str(e.region)) return undefined;
  if (!str(d.clusterArn) || !str(d.taskArn) || !str(d.lastStatus) || !str(d.desiredStatus)) return undefined;
  if (typeof d.version !== "number" || !Number.isInteger(d.version)) return undefined;
  return {
    account: e.account,
    region: e.region,
    clusterArn: d.clusterArn,
    taskArn: d.taskArn,
    lastStatus: d.lastStatus,
    desiredStatus: d.desiredStatus,
    version: d.version,
  };
}

/** Statuses of a task on its way up: not a target yet, and its RUNNING event will add it. */
const STARTING = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

/**
 * One cluster's task list with events applied (the newest version of each task, in any order): RUNNING
 * tasks are listed (known ones patched from the event, new ones described by the caller), tasks that left
 * RUNNING are dropped, and draining tasks are dropped once `draining` says their grace has run out.
 */
export function applyTaskEvents(
  state: ClusterState,
  events: readonly TaskEvent[],
  draining: Map<string, number>,
  now: number,
  graceMs: number,
): { state: ClusterState; listed: string[] } {
  const listed = new Set(state.listed);
  const tasks = new Map(state.tasks);
  const drop = (arn: string) => {
    listed.delete(arn);
    tasks.delete(arn);
    draining.delete(arn);
  };
  for (const e of events) {
    if (e.lastStatus === "RUNNING") {
      if (e.desiredStatus === "STOPPED") {
        if (!draining.has(e.taskArn)) draining.set(e.taskArn, now + graceMs);
      } else draining.delete(e.taskArn);
      listed.add(e.taskArn);
      const known = tasks.get(e.taskArn);
      if (known)
        tasks.set(e.taskArn, {
          ...known,
          lastStatus: e.lastStatus,
          desiredStatus: e.desiredStatus,
          version: e.version,
        });
    } else if (!STARTING.has(e.lastStatus) || e.desiredStatus === "STOPPED") drop(e.taskArn);
  }
  for (const [arn, deadline] of draining) if (deadline <= now) drop(arn);
  return { state: { ...state, tasks }, listed: [...listed] };
}

/** The task ARNs behind a unit's targets. */
function taskArns(outcome: UnitOutcome | undefined): Set<string> {
  const out = new Set<string>();
  if (outcome?.ok)
    for (const t of outcome.targets) {
      const arn = t.group.labels[ECS_LABELS.taskArn];
      if (arn) out.add(arn);
    }
  return out;
}

/** The region of an AWS SQS URL (`sqs.<region>.amazonaws.com`, `<region>.queue.amazonaws.com`). */
export function queueRegion(url: string): string | undefined {
  const host = /^https?:\/\/([^/]+)/.exec(url)?.[1] ?? "";
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(host)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com/.exec(host)?.[1]
  );
}

/** The SQS module is loaded with the client, on first use: a bridge without ecs.events never loads it. */
const sdk = () => import("@aws-sdk/client-sqs");

export function sqsQueue(client: () => Promise<SQSClient>, url: string, waitSeconds: number): EventQueue {
  return {
    url,
    async depth() {
      const { GetQueueAttributesCommand } = await sdk();
      const r = await (
        await client()
      ).send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }),
      );
      return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0);
    },
    async receive(signal, wait = waitSeconds) {
      const { ReceiveMessageCommand } = await sdk();
      const r = await (
        await client()
      ).send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: RECEIVE_MAX_MESSAGES,
          WaitTimeSeconds: wait,
          VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
          MessageSystemAttributeNames: ["SentTimestamp"],
        }),
        { abortSignal: signal },
      );
      return (r.Messages ?? []).flatMap((m) => {
        if (!m.ReceiptHandle || m.Body === undefined) return [];
        const sentAt = Number(m.Attributes?.SentTimestamp);
        return [{ body: m.Body, receipt: m.ReceiptHandle, ...(sentAt > 0 ? { sentAt } : {}) }];
      });
    },
    async delete(receipts) {
      const { DeleteMessageBatchCommand } = await sdk();
      let failed = 0;
      for (const batch of chunk(receipts, 10)) {
        const r = await (
          await client()
        ).send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle })),
          }),
        );
        failed += r.Failed?.length ?? 0;
      }
      return failed;
    },
  };
}

export interface EcsEventsDeps {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
  /** The queues; by default one SQS client per ecs.events.queueUrls entry, with its region's scope. */
  queues?: EventQueue[];
  now?: () => number;
}

interface Received extends QueueMessage {
  queue: EventQueue;
}

interface Pending {
  event: TaskEvent;
  unit: string;
  messages: Received[];
}

interface QueueState {
  queue: EventQueue;
  error?: Error;
  loop?: Promise<void>;
  /** The short polls draining a burst beside the long poll. */
  bursts: Set<Promise<void>>;
}

/** The ECS source in events mode: events between reconciles, the full walk of `inner` as the reconcile. */
export class EcsEventSource implements Source {
  readonly name = "ecs" as const;
  private last: SourceRefresh | undefined;
  private reconciledAt: number | undefined;
  private listener: (() => Promise<void>) | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Per task: the newest version applied, and whether it left RUNNING (a late event must not bring it back). */
  private readonly versions = lruByCount<string, { version: number; gone: boolean }>(MAX_TRACKED_TASKS);
  /** Per unit: draining task ARN -> when its grace ends (epoch ms). */
  private readonly draining = new Map<string, Map<string, number>>();
  private readonly queues: QueueState[];
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private flushing: Promise<void> | undefined;
  /** When the last health pass ran (the source's clock); 0: none yet. */
  private healthAt = 0;

  constructor(
    private readonly inner: EcsSource,
    private readonly deps: EcsEventsDeps,
  ) {
    const callTimeout = deps.config.aws.callTimeoutSeconds ?? DEFAULT_CALL_TIMEOUT_SECONDS;
    // A long poll must end before the call timeout cuts it off.
    const wait = Math.max(1, Math.min(20, callTimeout - 1));
    const queues =
      deps.queues ??
      deps.config.ecs.events.queueUrls.map((url) => sqsQueue(this.scopeForQueue(url).clients.sqs, url, wait));
    this.queues = queues.map((queue) => ({ queue, bursts: new Set<Promise<void>>() }));
  }

  onChange(listener: () => Promise<void>): void {
    this.listener = listener;
  }

  async refresh(): Promise<SourceRefresh> {
    const now = this.now();
    const interval = this.deps.config.ecs.events.reconcileIntervalSeconds * 1000;
    const failing = this.queues.some((q) => q.error);
    if (!this.last || this.reconciledAt === undefined || now - this.reconciledAt >= interval || failing)
      return this.reconcile();
    const failed = await this.applyPending(this.last, this.healthPassDue(now));
    return this.withQueues(this.last, failed);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.queues.flatMap((q) => [q.loop, ...q.bursts]));
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The full ListTasks walk; counts what events missed, then starts (or keeps) following events. */
  private async reconcile(): Promise<SourceRefresh> {
    const previous = this.last;
    const r = await this.inner.refresh();
    this.reconciledAt = this.now();
    // A task that stopped while the walk ran is listed by it: drop it again (its STOPPED event is applied).
    const failed: UnitOutcome[] = [];
    await Promise.all(
      r.units.map(async (u, i) => {
        const gone = [...taskArns(u)].filter((arn) => this.versions.get(arn)?.gone);
        if (gone.length === 0) return;
        const rebuilt = await this.inner.rebuildCluster(u.unit, (state) => {
          const drop = new Set(gone);
          return {
            state: { ...state, tasks: new Map([...state.tasks].filter(([arn]) => !drop.has(arn))) },
            listed: state.listed.filter((arn) => !drop.has(arn)),
          };
        });
        if (rebuilt?.ok) r.units[i] = rebuilt;
        else if (rebuilt) failed.push(rebuilt);
      }),
    );
    if (previous) this.countRepairs(previous, r);
    this.last = r;
    this.startPolling();
    return this.withQueues(r, failed);
  }

  /** Targets a reconcile added or removed that events should have: missed (lost, late) events. */
  private countRepairs(before: SourceRefresh, after: SourceRefresh): void {
    const prior = new Map(before.units.map((u) => [u.unit, u]));
    let added = 0;
    let removed = 0;
    for (const u of after.units) {
      const old = prior.get(u.unit);
      if (!u.ok || !old?.ok) continue;
      const was = taskArns(old);
      const now = taskArns(u);
      const draining = this.draining.get(u.unit);
      for (const arn of now) if (!was.has(arn) && !this.pending.has(arn)) added++;
      for (const arn of was) if (!now.has(arn) && !this.pending.has(arn) && !draining?.has(arn)) removed++;
    }
    if (added > 0) this.deps.metrics.ecsReconcileRepairs.inc({ action: "added" }, added);
    if (removed > 0) this.deps.metrics.ecsReconcileRepairs.inc({ action: "removed" }, removed);
    if (added + removed > 0)
      this.deps.logger.info("the ECS reconcile repaired targets events had missed", { added, removed });
  }

  /**
   * Task state change events carry no health status (nor does a health change alone promise one), so tasks
   * whose definition has a container health check are described again every refresh interval, as polling
   * does; the rest only on the reconcile's cadence.
   */
  private healthPassDue(now: number): boolean {
    const everyMs = this.deps.config.refreshIntervalSeconds * 1000;
    if (now - this.healthAt < everyMs * HEALTH_PASS_SLACK) return false;
    this.healthAt = now;
    return true;
  }

  /**
   * Applies the pending events (and expired draining graces) to their clusters, with the health pass when
   * `health`; returns failed units.
   */
  private async applyPending(last: SourceRefresh, health = false): Promise<UnitOutcome[]> {
    const now = this.now();
    const byUnit = new Map<string, Pending[]>();
    for (const p of this.pending.values()) {
      let list = byUnit.get(p.unit);
      if (!list) byUnit.set(p.unit, (list = []));
      list.push(p);
    }
    this.pending.clear();
    for (const [unit, tasks] of this.draining)
      if ([...tasks.values()].some((deadline) => deadline <= now) && !byUnit.has(unit)) byUnit.set(unit, []);
    if (health)
      for (const u of last.units) {
        const state = u.ok ? this.inner.clusterState(u.unit) : undefined;
        if (state && !byUnit.has(u.unit) && healthPassDescribes(state)) byUnit.set(u.unit, []);
      }
    const graceMs = this.deps.config.ecs.events.drainingGraceSeconds * 1000;
    const failed: UnitOutcome[] = [];
    const applied: Received[] = [];
    const ignored: Received[] = [];
    await Promise.all(
      [...byUnit].map(async ([unit, batch]) => {
        let draining = this.draining.get(unit);
        if (!draining) this.draining.set(unit, (draining = new Map()));
        const working = new Map(draining);
        const events = batch.map((p) => p.event);
        const outcome = await this.inner.rebuildCluster(
          unit,
          (state) => applyTaskEvents(state, events, working, now, graceMs),
          health,
        );
        const messages = batch.flatMap((p) => p.messages);
        if (!outcome) {
          ignored.push(...messages);
          this.draining.delete(unit);
          return;
        }
        if (!outcome.ok) {
          // Not deleted: the messages come back after their visibility timeout and are applied then.
          failed.push(outcome);
          return;
        }
        this.draining.set(unit, working);
        for (const { event } of batch)
          this.versions.set(event.taskArn, {
            version: event.version,
            gone: event.lastStatus !== "RUNNING" && !STARTING.has(event.lastStatus),
          });
        const i = last.units.findIndex((u) => u.unit === unit);
        if (i >= 0) last.units[i] = outcome;
        else last.units.push(outcome);
        applied.push(...messages);
      }),
    );
    const { metrics } = this.deps;
    if (applied.length > 0) {
      metrics.ecsEvents.inc({ outcome: "applied" }, applied.length);
      const oldest = Math.min(...applied.map((m) => m.sentAt ?? now));
      metrics.ecsEventsLag.set(Math.max(0, now - oldest) / 1000);
    }
    if (ignored.length > 0) metrics.ecsEvents.inc({ outcome: "ignored" }, ignored.length);
    this.deleteMessages([...applied, ...ignored]);
    for (const f of failed)
      if (!f.ok)
        this.deps.logger.warn("applying ECS events failed; they are retried after the visibility timeout", {
          unit: f.unit,
          error: f.error.name,
          message: f.error.message,
        });
    return failed;
  }

  /** The refresh as Discovery sees it: the units, with failed rebuilds and failing queues as failed units. */
  private withQueues(r: SourceRefresh, failed: UnitOutcome[]): SourceRefresh {
    const failing = new Set(failed.map((f) => f.unit));
    const queueUnits: UnitOutcome[] = this.queues.flatMap((q) =>
      q.error ? [{ unit: `events/${q.queue.url.split("/").pop()}`, ok: false as const, error: q.error }] : [],
    );
    return {
      ...r,
      units: [...r.units.filter((u) => !failing.has(u.unit)), ...failed, ...queueUnits],
    };
  }

  private startPolling(): void {
    for (const q of this.queues) q.loop ??= this.poll(q);
  }

  private async poll(q: QueueState): Promise<void> {
    let backoffMs = 0;
    let checked = false;
    while (!this.abort.signal.aborted) {
      if (this.pending.size >= MAX_PENDING_TASKS) {
        // Bounded: receive no more until what is pending has been applied.
        await this.flush();
        if (this.pending.size >= MAX_PENDING_TASKS) await this.sleep(BATCH_WINDOW_MS);
        continue;
      }
      try {
        if (!checked) {
          const waiting = await q.queue.depth();
          this.deps.logger.info("following ECS task state change events", { queue: q.queue.url, waiting });
          checked = true;
        }
        const messages = await q.queue.receive(this.abort.signal);
        if (q.error) this.deps.logger.info("the ECS event queue answers again", { queue: q.queue.url });
        q.error = undefined;
        backoffMs = 0;
        for (const m of messages) this.offer({ ...m, queue: q.queue });
        if (messages.length >= RECEIVE_MAX_MESSAGES) this.burst(q);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const error = err as Error;
        if (!q.error)
          this.deps.logger.warn("receiving ECS events failed; polling until the queue answers", {
            queue: q.queue.url,
            error: error.name,
            message: error.message,
          });
        q.error = error;
        backoffMs = Math.min(MAX_POLL_BACKOFF_MS, Math.max(1000, backoffMs * 2));
        await this.sleep(backoffMs);
      }
    }
  }

  /** Starts short polls beside the long poll, up to BURST_RECEIVERS; each stops at a receive not full. */
  private burst(q: QueueState): void {
    while (q.bursts.size < BURST_RECEIVERS) {
      const drain = this.drain(q).finally(() => q.bursts.delete(drain));
      q.bursts.add(drain);
    }
  }

  private async drain(q: QueueState): Promise<void> {
    try {
      while (!this.abort.signal.aborted && this.pending.size < MAX_PENDING_TASKS) {
        const messages = await q.queue.receive(this.abort.signal, 0);
        for (const m of messages) this.offer({ ...m, queue: q.queue });
        if (messages.length < RECEIVE_MAX_MESSAGES) return;
      }
    } catch {
      // The long poll beside it meets the same failure: it reports it and backs off.
    }
  }

  /** Checks one message against the versions seen; an event to apply waits for the batch window. */
  private offer(m: Received): void {
    const { metrics } = this.deps;
    metrics.ecsEventsReceived.inc();
    const event = parseTaskEvent(m.body);
    const unit = event && this.unitOf(event);
    if (!event || !unit) {
      metrics.ecsEvents.inc({ outcome: "ignored" });
      this.deleteMessages([m]);
      return;
    }
    const pending = this.pending.get(event.taskArn);
    const known = Math.max(this.versions.get(event.taskArn)?.version ?? -1, pending?.event.version ?? -1);
    if (event.version <= known) {
      metrics.ecsEvents.inc({ outcome: event.version === known ? "duplicate" : "stale" });
      // A copy of a pending event is deleted with it, once applied.
      if (pending && event.version === pending.event.version) pending.messages.push(m);
      else this.deleteMessages([m]);
      return;
    }
    // A newer version supersedes a pending one; the older messages are deleted when it is applied.
    this.pending.set(event.taskArn, { event, unit, messages: [...(pending?.messages ?? []), m] });
    if (event.lastStatus === "RUNNING" && event.desiredStatus === "STOPPED") {
      // The grace ends without an event: apply then.
      const graceMs = this.deps.config.ecs.events.drainingGraceSeconds * 1000;
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.flush();
      }, graceMs + 10);
      t.unref();
      this.timers.add(t);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = this.sleep(BATCH_WINDOW_MS).then(() => {
      this.flushing = undefined;
      return this.flush();
    });
  }

  /** Has Discovery refresh this source now (applying what is pending) and publish the result. */
  private async flush(): Promise<void> {
    if (this.abort.signal.aborted) return;
    try {
      await this.listener?.();
    } catch (err) {
      this.deps.logger.warn("publishing ECS events failed", { err });
    }
  }

  private deleteMessages(messages: Received[]): void {
    const byQueue = new Map<EventQueue, string[]>();
    for (const m of messages) {
      let list = byQueue.get(m.queue);
      if (!list) byQueue.set(m.queue, (list = []));
      list.push(m.receipt);
    }
    for (const [queue, receipts] of byQueue)
      queue.delete(receipts).then(
        (failed) => {
          if (failed > 0)
            this.deps.logger.warn(
              "some ECS event messages could not be deleted; they come back as duplicates",
              {
                queue: queue.url,
                failed,
              },
            );
        },
        (err: Error) =>
          this.deps.logger.warn("deleting ECS event messages failed; they come back as duplicates", {
            queue: queue.url,
            error: err.name,
            message: err.message,
          }),
      );
  }

  /** The unit (`<scope>/<cluster>`) an event belongs to, if it is in a configured account/region. */
  private unitOf(e: TaskEvent): string | undefined {
    const inRegion = this.deps.scopes.filter((s) => s.region === e.region);
    const scope =
      inRegion.find((s) => s.account && parseArn(s.account.roleArn)?.accountId === e.account) ??
      inRegion.find((s) => !s.account);
    const cluster = clusterNameFromArn(e.clusterArn);
    return scope && cluster ? `${scope.key}/${cluster}` : undefined;
  }

  /** The credentials a queue is read with: its region's default-chain scope, else any scope there. */
  private scopeForQueue(url: string): AwsScope {
    const region = queueRegion(url);
    const inRegion = this.deps.scopes.filter((s) => s.region === region);
    return inRegion.find((s) => !s.account) ?? inRegion[0] ?? this.deps.scopes[0]!;
  }

  /** A wait that stop() ends early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.timers.delete(t);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.timers.add(t);
      this.abort.signal.addEventListener("abort", done, { once: true });
    });
  }
}
