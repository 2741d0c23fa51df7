// Facts about AWS resources (clusters, services, EC2 instances, ENIs) keyed by id, fetched in batches and
// kept in lru-cache for a TTL. An entry past its TTL is fetched again; when that fetch fails the stale
// entry still serves, so a throttled EC2 call never strips labels from targets that had them. Facts a
// scope's clusters all ask for the same way (EC2 instances, ENIs) are fetched in batches they share.
// A fact fetched again and found equal keeps its cached object: targets built from it are reused by
// identity (sd/ecs/cluster.ts), so a TTL running out does not rebuild every task's targets.
import { isDeepStrictEqual } from "node:util";
import type { LRUCache } from "lru-cache";
import { lruByCount } from "../../core/lru.js";
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
   * together, in shared batches, with the fetch of the first of them; and the last batch's spare room
   * renews entries that went stale within the last TTL, which other callers would each ask for in a call
   * of their own. Only for facts whose fetch depends on the ids alone (EC2 instances, ENIs; not services,
   * asked per cluster).
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
  /** Each id's shared fetch while in flight: a caller asking for the id meanwhile waits for that one. */
  private readonly inFlight = new Map<string, Promise<Map<string, Outcome<V>>>>();

  constructor(private readonly opts: FactsOptions) {
    this.cache = lruByCount<string, V>(opts.max, {
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

  /**
   * The outcomes of `ids` from the shared fetches: the one in flight for an id, else the one made at the end
   * of this turn of the event loop.
   */
  private async shared(ids: string[], fetch: FetchBatch<V>): Promise<Map<string, Outcome<V>>> {
    const fetches = new Set<Promise<Map<string, Outcome<V>>>>();
    for (const id of ids) {
      let pending = this.inFlight.get(id);
      if (!pending) {
        this.waiting ??= this.nextFetch(fetch);
        this.waiting.ids.add(id);
        this.inFlight.set(id, (pending = this.waiting.done));
      }
      fetches.add(pending);
    }
    const outcomes = new Map<string, Outcome<V>>();
    for (const answered of await Promise.all(fetches))
      for (const id of ids) {
        const outcome = answered.get(id);
        if (outcome) outcomes.set(id, outcome);
      }
    return outcomes;
  }

  /** The fetch made at the end of this turn of the event loop, of the ids added to it until then. */
  private nextFetch(fetch: FetchBatch<V>): NonNullable<typeof this.waiting> {
    const ids = new Set<string>();
    const done: Promise<Map<string, Outcome<V>>> = new Promise((resolve) =>
      setImmediate(() => {
        this.waiting = undefined;
        const asked = [...ids];
        const alongside = this.dueAlongside(asked);
        for (const id of alongside) this.inFlight.set(id, done);
        const all = [...asked, ...alongside];
        resolve(
          this.fetchAll(all, fetch, new Set(alongside)).finally(() => {
            for (const id of all) if (this.inFlight.get(id) === done) this.inFlight.delete(id);
          }),
        );
      }),
    );
    return { ids, done };
  }

  /**
   * Cached ids that went stale within the last TTL, as many as the last batch of `asked` has room for.
   * Only recent ones: EC2 rejects a whole call for an instance it has forgotten (an hour or so after
   * termination).
   */
  private dueAlongside(asked: string[]): string[] {
    const { batchSize, ttlMs } = this.opts;
    const room = (batchSize - (asked.length % batchSize)) % batchSize;
    if (room === 0 || ttlMs === 0) return [];
    const wanted = new Set(asked);
    const due: string[] = [];
    for (const [id] of this.cache.dump()) {
      if (due.length === room) break;
      const left = this.cache.getRemainingTTL(id);
      if (left <= 0 && left > -ttlMs && !wanted.has(id)) due.push(id);
    }
    return due;
  }

  /**
   * Fetches `ids` in parallel batches, caching what is found. A failed batch holding ids renewed
   * `alongside` is asked again without them, and they are forgotten: EC2 rejects a whole call for an
   * instance it no longer knows, and that must not cost the ids someone asked for.
   */
  private async fetchAll(
    ids: string[],
    fetch: FetchBatch<V>,
    alongside: ReadonlySet<string> = new Set(),
  ): Promise<Map<string, Outcome<V>>> {
    const outcomes = new Map<string, Outcome<V>>();
    const fetchBatch = async (batch: string[]): Promise<void> => {
      try {
        for (const [id, fetched] of await fetch(batch)) {
          const old = this.cache.get(id, { allowStale: true });
          const value = old !== undefined && isDeepStrictEqual(old, fetched) ? old : fetched;
          this.cache.set(id, value);
          outcomes.set(id, { value });
        }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        const asked = batch.filter((id) => !alongside.has(id));
        const again = asked.length > 0 && asked.length < batch.length;
        for (const id of batch)
          if (alongside.has(id)) {
            this.cache.delete(id);
            outcomes.set(id, { error });
          } else if (!again) outcomes.set(id, { error });
        if (again) await fetchBatch(asked);
      }
    };
    await Promise.all(chunk(ids, this.opts.batchSize).map(fetchBatch));
    return outcomes;
  }
}
