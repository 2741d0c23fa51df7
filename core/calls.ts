// AWS calls counted per piece of work (one cluster's refresh), by operation, for the status page. The
// count follows the async context of the work, so concurrent units each see only their own calls.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<Map<string, number>>();

/** Counts one AWS request attempt against the work in whose context it runs (none: not counted). */
export function countCall(operation: string): void {
  const counts = current.getStore();
  if (counts) counts.set(operation, (counts.get(operation) ?? 0) + 1);
}

/**
 * Runs `run`, whose `counted(work)` makes `work` count the AWS requests it makes (retries included) by
 * operation; the result gains those counts as `calls` (sorted by operation) when there were any. Fakes in
 * tests make no AWS requests: no `calls` field then.
 */
export async function withCallCounts<T extends object>(
  run: (counted: <R>(work: () => Promise<R>) => () => Promise<R>) => Promise<T>,
): Promise<T & { calls?: Record<string, number> }> {
  const counts = new Map<string, number>();
  const result = await run((work) => () => current.run(counts, work));
  return counts.size > 0 ? { ...result, calls: Object.fromEntries([...counts].sort()) } : result;
}
