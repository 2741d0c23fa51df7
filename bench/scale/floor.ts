// The token-bucket floor of a refresh: the least time AWS's documented buckets (sim/throttling.ts) allow
// for the calls it made, starting from full buckets, plus the calls that cannot overlap (ListTasks pages
// of a cluster come one after another, and each later phase waits for one answer of the phase before).
import { AWS_THROTTLING, type CallRecord, type ThrottleRule } from "../../sim/index.js";

const THROTTLE_CODES = new Set(["ThrottlingException", "RequestLimitExceeded", "Throttling"]);

export interface CallSummary {
  /** Successful calls by `service:Operation`. */
  calls: Record<string, number>;
  throttles: number;
}

export function summarise(log: readonly CallRecord[]): CallSummary {
  const calls: Record<string, number> = {};
  let throttles = 0;
  for (const r of log) {
    if (r.error && THROTTLE_CODES.has(r.error)) throttles++;
    else {
      const key = `${r.service}:${r.operation}`;
      calls[key] = (calls[key] ?? 0) + 1;
    }
  }
  return { calls, throttles };
}

function ruleFor(key: string): ThrottleRule[] {
  const [service, operation] = key.split(":");
  return AWS_THROTTLING.filter((r) => {
    if (r.service !== service || r.unfiltered === true) return false;
    const ops = Array.isArray(r.operation) ? r.operation : [r.operation];
    return ops.includes(operation);
  });
}

/** Seconds the buckets force: for each bucket, the calls beyond its burst at its refill rate. */
export function bucketFloorMs(calls: Record<string, number>): number {
  const perBucket = new Map<ThrottleRule, number>();
  for (const [key, n] of Object.entries(calls))
    for (const rule of ruleFor(key)) perBucket.set(rule, (perBucket.get(rule) ?? 0) + n);
  let worst = 0;
  for (const [rule, n] of perBucket)
    worst = Math.max(worst, (Math.max(0, n - rule.burst) / rule.refillPerSecond) * 1000);
  return worst;
}

/**
 * The refresh floor: the bucket floor, or the chain of calls that cannot overlap at `latencyMs` each
 * (the longest ListTasks pagination of one cluster, then one call per later phase that made calls),
 * whichever is longer.
 */
export function refreshFloorMs(
  calls: Record<string, number>,
  listPagesPerCluster: number,
  latencyMs: number,
): number {
  const later = [
    "ecs:DescribeTasks",
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeContainerInstances",
    "ec2:DescribeInstances",
  ];
  const chain = listPagesPerCluster + later.filter((k) => (calls[k] ?? 0) > 0).length;
  return Math.max(bucketFloorMs(calls), chain * latencyMs);
}
