// The concurrency decorator the exporter's CloudWatch API is wrapped in (the YACE "concurrency client"
// pattern): callers never thread a limiter through their methods. Discovery's APIs are paced per AWS
// throttling bucket instead (core/pacer.ts). p-limit does the queueing; it admits exactly
// `concurrency` calls at once, where the hand-written limiter it replaces could admit one more.
import pLimit from "p-limit";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any function shape; the mapped type keeps each signature
type AsyncMethods = Record<string, (...args: any[]) => Promise<unknown>>;

/**
 * Returns an API of the same type whose async methods run at most `concurrency` at a time (shared across
 * methods). Wrap leaf APIs only: a method that calls another wrapped method would hold a slot it waits on.
 */
export function limited<T extends AsyncMethods>(api: T, concurrency: number): T {
  const limit = pLimit(concurrency);
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(api)) {
    out[name] = typeof fn === "function" ? (...args: unknown[]) => limit(() => fn.apply(api, args)) : fn;
  }
  return out as T;
}
