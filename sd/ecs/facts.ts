// Facts about AWS resources (clusters, services, EC2 instances, ENIs) keyed by id, fetched in batches and
// kept in lru-cache for a TTL. An entry past its TTL is fetched again; when that fetch fails the stale
// entry still serves, so a throttled EC2 call never strips labels from targets that had them. Facts a
// scope's clusters all ask for the same way (EC2 instances, ENIs) are fetched in batches they share.
import { LRUCache } from "lru-cache";
import { chunk } from "../../core/aws.js";

export interface FactsResult<V> {
  /** Every requested id that is known (fresh, just fetched, or stale because its refresh failed). */
  values: Map<string, V>;
  /** Requested ids in a batch that failed and with no earlier value. */
  failed: Set<string>;
  /** The errors of the failed batches. */
  errors: Error[];
}

export interface FactsOptions {
  /** How long an entry is fresh; 0 keeps it until evicted (immutable facts). */
  ttlMs: number;
  /** At most this many entries are kept (least recently used evicted first). */
  max: number;
  /** The most ids one request takes. */
  batchSize: number;
  /**
   * Ids that callers (clusters refreshing together) ask for in the same turn of the event loop are fetched
   * together, in shared batches, with the fetch of the first of them: only for facts whose fetch depends
   * on the ids alone (EC2 instances, ENIs; not services, asked per cluster).
   */
  coalesce?: boolean;
  now?: () => number;
}

/** One batch request: the facts found for `ids`, by id (ids AWS did not find are simply absent). */
export type FetchBatch<V> = (ids: string[]) => Promise<Map<string, V>>;

/** What a fetch made of one id: its facts, or the error of its batch; no entry when AWS did not find it. */
type Outcome<V> = { value: V } | { error: Error };

export class BatchedFacts<V extends object> {
  private readonly cache: LRUCache<string, V>;
  /** The ids waiting for the next shared fetch (coalesce), made at the end of this turn of the loop. */
  private waiting?: { ids: Set<string>; done: Promise<Map<string, Outcome<V>>> };

  constructor(private readonly opts: FactsOptions) {
    this.cache = new LRUCache<string, V>({
      max: opts.max,
      ...(opts.ttlMs > 0 ? { ttl: opts.ttlMs, ttlResolution: 0, noDeleteOnStaleGet: true } : {}),
      ...(opts.now ? { perf: { now: opts.now } } : {}),
    });
  }

  /** The facts for `ids`: fresh ones from the cache, the rest fetched in parallel batches. */
  async get(ids: Iterable<string>, fetch: FetchBatch<V>): Promise<FactsResult<V>> {
    const values = new Map<string, V>();
    const stale: string[] = [];
    for (const id of new Set(ids)) {
      if (this.cache.has(id)) values.set(id, this.cache.get(id)!);
      else stale.push(id);
    }
    const failed = new Set<string>();
    const errors = new Set<Error>();
    if (stale.length === 0) return { values, failed, errors: [] };
    const outcomes = await (this.opts.coalesce ? this.shared(stale, fetch) : this.fetchAll(stale, fetch));
    for (const id of stale) {
      const outcome = outcomes.get(id);
      if (!outcome) continue;
      if ("value" in outcome) {
        values.set(id, outcome.value);
        continue;
      }
      errors.add(outcome.error);
      const old = this.cache.get(id, { allowStale: true });
      if (old) values.set(id, old);
      else failed.add(id);
    }
    return { values, failed, errors: [...errors] };
  }

  /** Adds `ids` to the fetch shared by every caller of this turn of the event loop. */
  private shared(ids: string[], fetch: FetchBatch<V>): Promise<Map<string, Outcome<V>>> {
    if (!this.waiting) {
      const waiting = {
        ids: new Set<string>(),
        done: new Promise<Map<string, Outcome<V>>>((resolve) =>
          setImmediate(() => {
            this.waiting = undefined;
            resolve(this.fetchAll([...waiting.ids], fetch));
          }),
        ),
      };
      this.waiting = waiting;
    }
    for (const id of ids) this.waiting.ids.add(id);
    return this.waiting.done;
  }

  /** Fetches `ids` in parallel batches, caching what is found. */
  private async fetchAll(ids: string[], fetch: FetchBatch<V>): Promise<Map<string, Outcome<V>>> {
    const outcomes = new Map<string, Outcome<V>>();
    await Promise.all(
      chunk(ids, this.opts.batchSize).map(async (batch) => {
        try {
          for (const [id, value] of await fetch(batch)) {
            this.cache.set(id, value);
            outcomes.set(id, { value });
          }
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          for (const id of batch) outcomes.set(id, { error });
        }
      }),
    );
    return outcomes;
  }
}
