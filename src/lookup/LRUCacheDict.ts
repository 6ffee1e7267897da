import type { LookupOptions } from "../core/index.js";

/**
 * What a lookup keeps fetched values in (BSPump's `cache=` argument of the SQL, Mongo and
 * Elasticsearch lookups): a CacheDict (a plain, unbounded map) or an LRUCacheDict.
 */
export interface LookupCache<V = unknown> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  has(key: string): boolean;
  delete(key: string): boolean;
  clear(): void;
  readonly size: number;
  keys(): IterableIterator<string>;
  /** The bare values (BSPump's `values()`). */
  values(): IterableIterator<V>;
  /** `[key, value]` pairs (BSPump's `items()`). */
  items(): IterableIterator<[string, V]>;
  /** Entries dropped by the cache's own limits (size, duration); 0 for a CacheDict. */
  readonly evicted: number;
}

/** A lookup's options with BSPump's `cache=`: the cache to use instead of the one its config describes. */
export interface CachedLookupOptions extends LookupOptions {
  cache?: LookupCache;
}

/** Where the cache reads the time (seconds): the application, so tests can move it. */
export interface Clock {
  time(): number;
}

const WALL_CLOCK: Clock = { time: () => Date.now() / 1000 };

interface Entry<V> {
  value: V;
  /** When it was last read or written. */
  used: number;
  /** When it was written. */
  stored: number;
}

/**
 * BSPump's LRUCacheDict(app, max_size=1000, max_duration=None): an ordered map of values and their
 * last use. A read refreshes the entry's time and moves it to the end; a write stores the value with
 * the current time, then `refresh()` drops the oldest entries beyond `maxSize` and those unused for
 * longer than `maxDuration` seconds. `values()` and `items()` give the bare values.
 *
 * Differences: an entry unused for longer than `maxDuration` is gone for reads too (BSPump's stayed
 * readable until the next write), and `maxAge` (an addition, AsyncLookup's `cache_ttl`) bounds how
 * long a value is served after it was written, however often it is read — what bounds staleness.
 * The one LRU of the lookups (AsyncLookup, ElasticSearchLookup, MemcachedLookup use it).
 */
export class LRUCacheDict<V = unknown> implements LookupCache<V> {
  private readonly map = new Map<string, Entry<V>>();
  private readonly clock: Clock;
  evicted = 0;

  constructor(
    app: Clock | null = null,
    readonly maxSize = 1000,
    readonly maxDuration: number | null = null,
    readonly maxAge: number | null = null,
  ) {
    this.clock = app ?? WALL_CLOCK;
  }

  private live(entry: Entry<V>, now: number): boolean {
    return (this.maxDuration === null || now - entry.used <= this.maxDuration) && (this.maxAge === null || now - entry.stored < this.maxAge);
  }

  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    const now = this.clock.time();
    this.map.delete(key);
    if (!this.live(entry, now)) {
      this.evicted++;
      return undefined;
    }
    entry.used = now;
    this.map.set(key, entry);
    return entry.value;
  }

  has(key: string): boolean {
    const entry = this.map.get(key);
    return entry !== undefined && this.live(entry, this.clock.time());
  }

  set(key: string, value: V): void {
    const now = this.clock.time();
    this.map.delete(key);
    this.map.set(key, { value, used: now, stored: now });
    this.refresh();
  }

  /** Drops the oldest entries beyond `maxSize`, then those unused for longer than `maxDuration`. */
  refresh(): void {
    while (this.map.size > this.maxSize) {
      this.map.delete(this.map.keys().next().value!);
      this.evicted++;
    }
    if (this.maxDuration === null) return;
    const limit = this.clock.time() - this.maxDuration;
    // The map is in order of use: the idle ones are at the front.
    for (const [key, entry] of this.map) {
      if (entry.used >= limit) break;
      this.map.delete(key);
      this.evicted++;
    }
  }

  delete(key: string): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  *values(): IterableIterator<V> {
    for (const entry of this.map.values()) yield entry.value;
  }

  *items(): IterableIterator<[string, V]> {
    for (const [key, entry] of this.map) yield [key, entry.value];
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.map.keys();
  }
}
