// Our own backoff on top of the SDK's retries: a cluster, namespace or listing that keeps failing with throttling or
// 5xx (after the SDK's retries) is skipped for a growing number of refreshes, so the account's shared token
// buckets get room. Other errors (access denied, not found) are retried every refresh, so a fixed policy takes
// effect at once. A skipped unit reports a failure: the refresh helper keeps serving its last-good targets.
import { isThrottle } from "./aws.js";

/** Throttling or a 5xx: failures that calling again soon makes worse. */
export function isTransient(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return isThrottle(err) || (status !== undefined && status >= 500);
}

/** A call's outcome, in the shape UnitBackoff judges (listings have no unit outcome of their own). */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

export async function settle<T>(work: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

export class BackingOff extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackingOff";
  }
}

interface State {
  failures: number;
  skipsLeft: number;
  lastError: string;
}

export class UnitBackoff {
  private readonly state = new Map<string, State>();

  /** After k consecutive transient failures the next min(2^(k-1) - 1, maxSkips) refreshes skip the unit. */
  constructor(private readonly maxSkips = 8) {}

  async run<T extends { ok: boolean; error?: Error }>(
    unit: string,
    work: () => Promise<T>,
    skipped: (error: BackingOff) => T,
  ): Promise<T> {
    const s = this.state.get(unit);
    if (s && s.skipsLeft > 0) {
      s.skipsLeft--;
      return skipped(
        new BackingOff(
          `skipped after ${s.failures} consecutive failures (${s.skipsLeft} more skips); last error: ${s.lastError}`,
        ),
      );
    }
    const outcome = await work();
    if (outcome.ok || !isTransient(outcome.error)) this.state.delete(unit);
    else {
      const failures = (s?.failures ?? 0) + 1;
      const error = outcome.error;
      this.state.set(unit, {
        failures,
        skipsLeft: Math.min(2 ** (failures - 1) - 1, this.maxSkips),
        lastError: error ? `${error.name}: ${error.message}` : "unknown error",
      });
    }
    return outcome;
  }

  /** Forget units that no longer exist. */
  retain(live: (unit: string) => boolean): void {
    for (const unit of this.state.keys()) if (!live(unit)) this.state.delete(unit);
  }
}
