// Client-side pacing of AWS requests: one token bucket per documented AWS throttling bucket, per account and
// region (one Pacer per scope's clients). A request waits here for a token instead of being sent, throttled
// and retried with backoff, and requests of different buckets never queue behind each other.
import type { FinalizeRequestMiddleware, Pluggable } from "@smithy/types";
import type { SelfMetrics } from "./metrics.js";

/** One AWS throttling bucket: the operations drawing from it, its capacity and its refill per second. */
export interface BucketSpec {
  /** `service:group`, the label of the wait metric and of queue-full errors. */
  name: string;
  operations: readonly string[];
  burst: number;
  refillPerSecond: number;
}

/**
 * The documented request-rate buckets per account and region of the calls discovery makes. This is the
 * product's copy; the simulator's (sim/throttling.ts) is AWS's side and deliberately kept apart.
 * - ECS, "Request throttling for the Amazon ECS API" (APIReference/request-throttling.html): actions of a
 *   category share one bucket.
 * - EC2, "Request throttling for the Amazon EC2 API" (APIReference/throttling.html): each API has its own
 *   bucket; non-mutating actions 100 / 20 per second (DescribeInstances is always called with instance ids,
 *   so never draws from the smaller unfiltered-and-unpaginated bucket).
 * - Cloud Map ("AWS Cloud Map service quotas"): DiscoverInstances 2,000 / 1,000 per second; its
 *   control-plane reads have no published rate, so they are bounded by concurrency only.
 */
export const AWS_BUCKETS: Readonly<Record<"ecs" | "ec2" | "servicediscovery", readonly BucketSpec[]>> = {
  ecs: [
    {
      name: "ecs:cluster-resource-read",
      operations: [
        "DescribeContainerInstances",
        "DescribeTasks",
        "ListAttributes",
        "ListContainerInstances",
        "ListTasks",
      ],
      burst: 100,
      refillPerSecond: 20,
    },
    {
      name: "ecs:service-read",
      operations: ["DescribeServices", "ListServices"],
      burst: 100,
      refillPerSecond: 20,
    },
    {
      name: "ecs:cluster-read",
      operations: ["DescribeClusters", "ListClusters"],
      burst: 50,
      refillPerSecond: 20,
    },
    {
      name: "ecs:task-definition-read",
      operations: ["DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"],
      burst: 50,
      refillPerSecond: 20,
    },
    { name: "ecs:tag-read", operations: ["ListTagsForResource"], burst: 50, refillPerSecond: 20 },
  ],
  ec2: [
    { name: "ec2:DescribeInstances", operations: ["DescribeInstances"], burst: 100, refillPerSecond: 20 },
    {
      name: "ec2:DescribeNetworkInterfaces",
      operations: ["DescribeNetworkInterfaces"],
      burst: 100,
      refillPerSecond: 20,
    },
  ],
  servicediscovery: [
    {
      name: "servicediscovery:DiscoverInstances",
      operations: ["DiscoverInstances"],
      burst: 2000,
      refillPerSecond: 1000,
    },
  ],
};

/** Requests that may wait per bucket; beyond it a request fails at once instead of the queue growing. */
export const MAX_WAITING = 10_000;

export interface Clock {
  now(): number;
  /** Resolves after `ms` (an injected clock resolves it when time is advanced past it). */
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  // Not unref'd: a run that only waits for tokens (e.g. `--once`) must not exit with the refresh pending.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class PacerQueueFull extends Error {
  constructor(bucket: string, waiting: number) {
    super(`${bucket}: ${waiting} AWS requests already wait for this throttling bucket; not queueing more`);
    this.name = "PacerQueueFull";
  }
}

interface Waiter {
  since: number;
  admit: (waitedMs: number) => void;
}

/**
 * A token bucket with a concurrency bound: a request is admitted when its token and one of headroom are
 * left and fewer than `concurrency` requests of the bucket are in flight, in arrival order. Starts full;
 * refills continuously.
 * `refillPerSecond: Infinity` bounds concurrency only.
 */
export class Bucket {
  private tokens: number;
  private last: number;
  private inFlight = 0;
  private readonly waiting: Waiter[] = [];
  private timerArmed = false;
  /**
   * Tokens that must be there for a request to go: its own and one of headroom. Paced requests leave one
   * refill apart and can arrive at AWS closer together; the headroom absorbs that instead of a throttle
   * (which would also slow the SDK's adaptive retry for the whole client).
   */
  private readonly needed: number;

  constructor(
    readonly spec: Pick<BucketSpec, "name" | "burst" | "refillPerSecond">,
    private readonly concurrency: number,
    private readonly clock: Clock = realClock,
    private readonly maxWaiting = MAX_WAITING,
  ) {
    this.tokens = spec.burst;
    this.needed = spec.burst > 1 ? 2 : 1;
    this.last = clock.now();
  }

  /** Waits for a token and a slot; resolves with the ms waited. Call `release()` when the request ends. */
  acquire(): Promise<number> {
    if (this.waiting.length === 0 && this.admissible()) {
      this.take();
      return Promise.resolve(0);
    }
    if (this.waiting.length >= this.maxWaiting)
      return Promise.reject(new PacerQueueFull(this.spec.name, this.waiting.length));
    return new Promise((admit) => {
      this.waiting.push({ since: this.clock.now(), admit });
      this.drain();
    });
  }

  release(): void {
    this.inFlight--;
    this.drain();
  }

  private refill(): void {
    const now = this.clock.now();
    const rate = this.spec.refillPerSecond;
    // Full (always, for a concurrency-only bucket): nothing to add, and no Infinity * 0.
    if (this.tokens >= this.spec.burst) {
      this.last = now;
      return;
    }
    this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.last) / 1000) * rate);
    this.last = now;
  }

  private admissible(): boolean {
    this.refill();
    return this.tokens >= this.needed && this.inFlight < this.concurrency;
  }

  private take(): void {
    this.tokens--;
    this.inFlight++;
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.admissible()) {
      this.take();
      const w = this.waiting.shift()!;
      w.admit(this.clock.now() - w.since);
    }
    // Out of tokens: wake when the next one is due. (Out of slots: release() drains.)
    if (this.waiting.length === 0 || this.timerArmed || this.tokens >= this.needed) return;
    this.timerArmed = true;
    const dueMs = Math.ceil(((this.needed - this.tokens) / this.spec.refillPerSecond) * 1000);
    void this.clock.sleep(dueMs).then(() => {
      this.timerArmed = false;
      this.drain();
    });
  }
}

/**
 * The buckets of one service's client in one account and region. Operations in no documented bucket share
 * one concurrency-only bucket of the service. `concurrency` bounds the requests in flight per bucket.
 */
export class Pacer {
  private readonly byOperation = new Map<string, Bucket>();
  private readonly unlisted: Bucket;

  constructor(
    private readonly service: keyof typeof AWS_BUCKETS,
    concurrency: number,
    private readonly metrics?: SelfMetrics,
    clock: Clock = realClock,
    maxWaiting = MAX_WAITING,
  ) {
    for (const spec of AWS_BUCKETS[service]) {
      const bucket = new Bucket(spec, concurrency, clock, maxWaiting);
      for (const op of spec.operations) this.byOperation.set(op, bucket);
      // The series exist from the start, so rate() over them sees the first wait.
      metrics?.awsTokenWait.inc({ service, bucket: spec.name }, 0);
    }
    const unlisted = { name: `${service}:unlisted`, burst: Infinity, refillPerSecond: Infinity };
    this.unlisted = new Bucket(unlisted, concurrency, clock, maxWaiting);
  }

  bucketOf(operation: string): Bucket {
    return this.byOperation.get(operation) ?? this.unlisted;
  }

  /** Runs one request once its bucket admits it. */
  async run<T>(operation: string, request: () => Promise<T>): Promise<T> {
    const bucket = this.bucketOf(operation);
    const waitedMs = await bucket.acquire();
    if (waitedMs > 0)
      this.metrics?.awsTokenWait.inc({ service: this.service, bucket: bucket.spec.name }, waitedMs / 1000);
    try {
      return await request();
    } finally {
      bucket.release();
    }
  }

  /**
   * Paces every attempt of the client's requests (below the SDK's retry, above signing and the per-attempt
   * timeout, so a retry draws a token like AWS counts it and waiting is not part of an attempt's time). Added once per
   * client, before its first request: the clients resolve their middleware once (`cacheMiddleware`), so a
   * plugin added later would not be seen by commands already sent.
   */
  plugin<I extends object, O extends object>(): Pluggable<I, O> {
    return {
      applyToStack: (stack) => {
        const pace: FinalizeRequestMiddleware<I, O> = (next, context) => (args) =>
          this.run((context.commandName ?? "").replace(/Command$/, ""), () => next(args));
        stack.addRelativeTo(
          pace,
          // Before signing: a signature is valid for 5 minutes, a wait may be longer.
          {
            relation: "before",
            toMiddleware: "httpSigningMiddleware",
            name: "pacerMiddleware",
            override: true,
          },
        );
      },
    };
  }
}

/** A client accessor whose client gets the pacer's middleware once, when first made. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every SDK client's stack; plugin() adapts to its types
export function paced<C extends { middlewareStack: { use(p: Pluggable<any, any>): void } }>(
  get: () => Promise<C>,
  pacer: Pacer,
): () => Promise<C> {
  let client: Promise<C> | undefined;
  return () =>
    (client ??= get().then((c) => {
      c.middlewareStack.use(pacer.plugin());
      return c;
    }));
}
