import { Lookup, type Application, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { LRUCacheDict, type CachedLookupOptions, type LookupCache } from "./LRUCacheDict.js";

const CONFIG = {
  cache_size: { type: "int", default: 1000, doc: "Entries kept in the cache (least recently used dropped)", min: 1 },
  cache_ttl: { type: "float", default: 0, doc: "Seconds an entry stays valid; 0: until dropped", min: 0 },
} satisfies ConfigSpec;

/**
 * A lookup backed by an external store (BSPump's AsyncLookupMixin): `lookup(key)` answers from its
 * cache synchronously, or with a Promise after `fetch(key)`; concurrent misses of a key share one
 * fetch. `get(key)` answers from the cache only (never blocks). The cache is an LRUCacheDict of
 * `cache_size` entries, each served for `cache_ttl` seconds, or the one given as `cache` (BSPump's
 * `cache=`: a CacheDict or an LRUCacheDict). Subclasses (the SQL lookups, MemcachedLookup)
 * implement `fetch`.
 */
export abstract class AsyncLookup extends Lookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly cache: LookupCache;
  private readonly pending = new Map<string, Promise<unknown>>();
  readonly cacheSize: number;
  readonly cacheTtl: number;
  /** Hits, misses, failed fetches and `evicted` (the cache's own count). */
  readonly counts: { hit: number; miss: number; failed: number; readonly evicted: number };

  constructor(app: Application, id?: string, options: CachedLookupOptions = {}) {
    const { cache, ...rest } = options;
    super(app, id, rest);
    this.cacheSize = this.config.getInt("cache_size");
    this.cacheTtl = this.config.getFloat("cache_ttl");
    const store = (this.cache = cache ?? this.defaultCache(app));
    this.counts = {
      hit: 0,
      miss: 0,
      failed: 0,
      get evicted() {
        return store.evicted;
      },
    };
    app.metrics.addCollector(() => [
      { name: "bspump.lookup.cache", type: "counter", tags: { lookup: this.id }, fields: { ...this.counts, size: this.cache.size } },
    ]);
  }

  /** The cache when none is given: `cache_size` entries, each served for `cache_ttl` seconds. Called by the constructor (config is read). */
  protected defaultCache(app: Application): LookupCache {
    return new LRUCacheDict(app, this.config.getInt("cache_size"), null, this.config.getFloat("cache_ttl") > 0 ? this.config.getFloat("cache_ttl") : null);
  }

  /** Fetches one value from the store; `undefined` when there is none (also cached). */
  protected abstract fetch(key: string): Promise<unknown>;

  /** The value from the cache, or a Promise of it. */
  lookup(key: unknown): unknown {
    const k = typeof key === "string" ? key : String(key);
    // An absence is cached too (as undefined): has() tells it from a miss.
    const value = this.cache.get(k);
    if (value !== undefined || this.cache.has(k)) {
      this.counts.hit++;
      return value;
    }
    const inFlight = this.pending.get(k);
    if (inFlight) return inFlight;
    this.counts.miss++;
    const promise = this.fetch(k).then(
      (value) => {
        this.pending.delete(k);
        this.remember(k, value);
        return value;
      },
      (error: unknown) => {
        this.pending.delete(k);
        this.counts.failed++;
        throw error;
      },
    );
    this.pending.set(k, promise);
    return promise;
  }

  /** Always a Promise (BSPump's `async get`). */
  async getAsync(key: unknown): Promise<unknown> {
    return this.lookup(key);
  }

  protected remember(key: string, value: unknown): void {
    this.cache.set(key, value);
  }

  /** Drops the cache (e.g. after the store changed). */
  invalidate(key?: string): void {
    if (key === undefined) this.cache.clear();
    else this.cache.delete(key);
  }

  get(key: unknown): unknown {
    return this.cache.get(typeof key === "string" ? key : String(key));
  }

  has(key: unknown): boolean {
    return this.cache.has(typeof key === "string" ? key : String(key));
  }

  get size(): number {
    return this.cache.size;
  }

  /** The cached entries as a JSON object. */
  serialize(): Buffer {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.cache.items()) out[k] = v;
    return Buffer.from(JSON.stringify(out), "utf8");
  }

  deserialize(data: Buffer): void {
    const parsed = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(parsed)) this.remember(k, v);
  }
}
