// AWS calls counted per piece of work (one cluster's refresh), by operation, for the status page. The
// count follows the async context of the work, so concurrent units each see only their own calls.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<Map<string, number>>();

/** Counts one AWS request attempt against the work in whose context it runs (none: not counted). */
export function countCall(operation: string): void {
  const counts = current.getStore();
  if (counts) counts.set(operation, (counts.get(operation) ?? 0) + 1);
}

/** `work`, made to count the AWS requests it makes (retries included) by operation into `counts`. */
export function countingInto<T>(counts: Map<string, number>, work: () => Promise<T>): () => Promise<T> {
  return () => current.run(counts, work);
}
