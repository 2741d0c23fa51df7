// AWS calls counted per piece of work (one cluster's refresh), by operation, for the status page. The
// count follows the async context of the work, so concurrent units each see only their own calls.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<Map<string, number>>();

/** Counts one AWS request attempt against the work in whose context it runs (none: not counted). */
export function countCall(operation: string): void {
  const counts = current.getStore();
  if (counts) counts.set(operation, (counts.get(operation) ?? 0) + 1);
}

/** Runs `work`, counting the AWS requests it makes (retries included) by operation. */
export async function withCallCounts<T>(work: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const counts = new Map<string, number>();
  const value = await current.run(counts, work);
  return [value, Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)))];
}
