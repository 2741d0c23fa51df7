// Fault switches of the simulated AWS: per-call latency, token-bucket throttling, forced errors (by count or
// rate, per service/operation/cluster/namespace), plus the per-operation call counter and log.
import type { SimService } from "./protocol.js";

/** What a rule can match besides service/operation: the ECS cluster or Cloud Map namespace a call is about. */
export interface CallScope {
  service: SimService;
  operation: string;
  /** The simulated account serving the call. */
  account: string;
  /** The region of the call (SigV4 credential scope): AWS throttles per account and region. */
  region: string;
  /** EC2: a Describe call without filter, ids or pagination (EC2 bills these to a smaller bucket). */
  unfiltered?: boolean;
  /** ECS cluster names and ARNs the call touches. */
  clusters: string[];
  /** Cloud Map namespace names and ids the call touches. */
  namespaces: string[];
}

export interface Matcher {
  service?: SimService;
  /** Operation name, or a list of them. */
  operation?: string | string[];
  /** ECS cluster name or ARN. */
  cluster?: string;
  /** Cloud Map namespace name or id. */
  namespace?: string;
  /** Account id (scenario.accounts); default any. */
  account?: string;
  /** true: only EC2 calls without filter, ids or pagination; false: only those with one; default both. */
  unfiltered?: boolean;
}

export interface FaultRule extends Matcher {
  /** HTTP status (default 500). 5xx without `code` answers the service's own server error. */
  status?: number;
  /** AWS error code, e.g. AccessDeniedException, ThrottlingException, RequestLimitExceeded. */
  code?: string;
  message?: string;
  /** Fail only the next N matching calls, then the rule is removed. */
  count?: number;
  /** Fail each matching call with this probability (0..1, seeded, deterministic per sim). */
  rate?: number;
}

/** A token bucket shared by the calls it matches, one per account and region as AWS keeps them. */
export interface ThrottleRule extends Matcher {
  /** Bucket size: the burst (ECS ListTasks and friends: 100). */
  burst: number;
  /** Tokens added per second: the sustained rate (ECS ListTasks and friends: 20); 0 never refills. */
  refillPerSecond: number;
}

export interface LatencyRule extends Matcher {
  ms: number;
  /** Extra random 0..jitterMs. */
  jitterMs?: number;
}

export interface CallRecord {
  service: SimService;
  operation: string;
  params: Record<string, unknown>;
  region: string;
  account: string;
  /** HTTP status answered. */
  status: number;
  /** Error code when the call failed. */
  error?: string;
}

export function matches(m: Matcher, scope: CallScope): boolean {
  if (m.service && m.service !== scope.service) return false;
  if (m.account && m.account !== scope.account) return false;
  if (m.operation) {
    const ops = Array.isArray(m.operation) ? m.operation : [m.operation];
    if (!ops.includes(scope.operation)) return false;
  }
  if (m.cluster && !scope.clusters.some((c) => c === m.cluster || c.endsWith(`:cluster/${m.cluster}`)))
    return false;
  if (m.namespace && !scope.namespaces.includes(m.namespace)) return false;
  if (m.unfiltered !== undefined && m.unfiltered !== (scope.unfiltered ?? false)) return false;
  return true;
}

/** mulberry32: a small seeded PRNG so rate-based faults are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rule: ThrottleRule,
    private readonly now: () => number,
  ) {
    this.tokens = rule.burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(
      this.rule.burst,
      this.tokens + ((t - this.last) / 1000) * this.rule.refillPerSecond,
    );
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One rule's buckets, created on first use for each account and region. */
class BucketSet {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly rule: ThrottleRule,
    private readonly now: () => number,
  ) {}

  take(scope: CallScope): boolean {
    const key = `${scope.account}/${scope.region}`;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.rule, this.now)));
    return bucket.take();
  }
}

export class FaultBox {
  private faults = new Map<string, FaultRule>();
  private buckets: BucketSet[] = [];
  private latency: LatencyRule[] = [];
  private nextId = 1;
  private readonly random: () => number;
  readonly counts = new Map<string, number>();
  log: CallRecord[] = [];

  constructor(
    private readonly now: () => number,
    seed = 42,
    private readonly logLimit = 20_000,
  ) {
    this.random = seededRandom(seed);
  }

  addFault(rule: FaultRule): string {
    if (rule.rate !== undefined && (rule.rate < 0 || rule.rate > 1))
      throw new RangeError(`fault rate must be in 0..1, got ${rule.rate}`);
    const id = `fault-${this.nextId++}`;
    this.faults.set(id, { ...rule });
    return id;
  }

  removeFault(id: string): boolean {
    return this.faults.delete(id);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** The first matching fault that fires for this call (consuming one of its `count`). */
  fault(scope: CallScope): FaultRule | undefined {
    for (const [id, rule] of this.faults) {
      if (!matches(rule, scope)) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      if (rule.count !== undefined) {
        rule.count -= 1;
        if (rule.count <= 0) this.faults.delete(id);
      }
      return rule;
    }
    return undefined;
  }

  /** Replaces the throttling buckets (empty: throttling off). Each rule is one bucket per account and region. */
  setThrottling(rules: readonly ThrottleRule[]): void {
    for (const r of rules)
      if (!(r.burst >= 1) || !(r.refillPerSecond >= 0))
        throw new RangeError(
          `throttle rule needs burst >= 1 and refillPerSecond >= 0, got ${JSON.stringify(r)}`,
        );
    this.buckets = rules.map((r) => new BucketSet({ ...r }, this.now));
  }

  /** False when a matching bucket is empty (every matching bucket pays one token). */
  admit(scope: CallScope): boolean {
    let ok = true;
    for (const b of this.buckets) if (matches(b.rule, scope) && !b.take(scope)) ok = false;
    return ok;
  }

  setLatency(rules: LatencyRule[]): void {
    this.latency = rules.map((r) => ({ ...r }));
  }

  delayFor(scope: CallScope): number {
    const rule = this.latency.find((r) => matches(r, scope));
    if (!rule) return 0;
    return rule.ms + (rule.jitterMs ? Math.floor(this.random() * rule.jitterMs) : 0);
  }

  count(record: CallRecord): void {
    const key = `${record.service}:${record.operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.log.push(record);
    if (this.log.length > this.logLimit) this.log = this.log.slice(-Math.floor(this.logLimit / 2));
  }

  /** Calls of `op` ("DescribeTasks" over all services, or "ecs:ListServices"); all calls when omitted. */
  calls(op?: string): number {
    let n = 0;
    for (const [key, v] of this.counts) {
      if (op === undefined || key === op || key.slice(key.indexOf(":") + 1) === op) n += v;
    }
    return n;
  }

  resetCalls(): void {
    this.counts.clear();
    this.log = [];
  }
}
