// LRU caches bounded by entry count that grow with use. lru-cache's `max` allocates its index arrays for
// `max` entries up front (about 4 MB for 100,000 entries with TTLs, 5 such caches per ECS scope), held
// even when the estate has a few hundred tasks. Counting each entry as size 1 against `maxSize` bounds the
// cache the same way without preallocating.
import { LRUCache } from "lru-cache";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound for keys and values
type Options<K extends {}, V extends {}> = Omit<
  LRUCache.Options<K, V, unknown>,
  "max" | "maxSize" | "sizeCalculation" | "maxEntrySize"
>;

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound for keys and values
export function lruByCount<K extends {}, V extends {}>(
  entries: number,
  opts: Options<K, V> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...opts, maxSize: entries, sizeCalculation: () => 1 } as LRUCache.Options<
    K,
    V,
    unknown
  >);
}
