import type { LookupCache } from "./LRUCacheDict.js";

/**
 * BSPump's CacheDict: a plain dict as a lookup's cache — unbounded, nothing expires. The default
 * cache of BSPump's lookups; here only when given (`cache: new CacheDict()`), since the lookups'
 * own default is a bounded LRUCacheDict.
 */
export class CacheDict<V = unknown> extends Map<string, V> implements LookupCache<V> {
  readonly evicted = 0;

  items(): IterableIterator<[string, V]> {
    return this.entries();
  }
}
