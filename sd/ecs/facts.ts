// Facts about AWS resources (clusters, services, EC2 instances, ENIs) keyed by id, fetched in batches and
// kept in lru-cache for a TTL. An entry past its TTL is fetched again; when that fetch fails the stale
// entry still serves, so a throttled EC2 call never strips labels from targets that had them.
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
  now?: () => number;
}

/** One batch request: the facts found for `ids`, by id (ids AWS did not find are simply absent). */
export type FetchBatch<V> = (ids: string[]) => Promise<Map<string, V>>;

export class BatchedFacts<V extends object> {
  private readonly cache: LRUCache<string, V>;

  constructor(private readonly opts: FactsOptions) {
    this.cache = new LRUCache<string, V>({
      max: opts.max,
      ...(opts.ttlMs > 0 ? { ttl: opts.ttlMs, ttlResolution: 0, noDeleteOnStaleGet: true } : {}),
      ...(opts.now ? { perf: { now: opts.now } } : {}),
    });
  }

  /** The facts for `ids`: fresh ones from the cache, the rest fetched in parallel batches. */
  async get(ids: Iterable<string>, fetch: FetchBatch<V>): Promise<FactsResult<V>> {
    const wanted = [...new Set(ids)];
    const values = new Map<string, V>();
    const stale: string[] = [];
    for (const id of wanted) {
      if (this.cache.has(id)) values.set(id, this.cache.get(id)!);
      else stale.push(id);
    }
    const failed = new Set<string>();
    const errors: Error[] = [];
    await Promise.all(
      chunk(stale, this.opts.batchSize).map(async (batch) => {
        try {
          const found = await fetch(batch);
          for (const [id, v] of found) {
            this.cache.set(id, v);
            values.set(id, v);
          }
        } catch (err) {
          errors.push(err as Error);
          for (const id of batch) {
            const old = this.cache.get(id, { allowStale: true });
            if (old) values.set(id, old);
            else failed.add(id);
          }
        }
      }),
    );
    return { values, failed, errors };
  }
}
