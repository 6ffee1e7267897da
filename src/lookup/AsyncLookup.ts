import { Lookup, type Application, type ConfigSpec, type TypedConfig, type LookupOptions } from "../core/index.js";

const CONFIG = {
  cache_size: { type: "int", default: 1000, doc: "Entries kept in the cache (least recently used dropped)" },
  cache_ttl: { type: "float", default: 0, doc: "Seconds an entry stays valid; 0: until dropped" },
} satisfies ConfigSpec;

/**
 * A lookup backed by an external store (BSPump's AsyncLookupMixin): `lookup(key)` answers from a
 * bounded LRU cache synchronously, or with a Promise after `fetch(key)`; concurrent misses of a
 * key share one fetch. `get(key)` answers from the cache only (never blocks). Subclasses (the
 * Elasticsearch and MySQL families' lookups) implement `fetch`.
 */
export abstract class AsyncLookup extends Lookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly cache = new Map<string, { value: unknown; at: number }>();
  private readonly pending = new Map<string, Promise<unknown>>();
  readonly cacheSize: number;
  readonly cacheTtl: number;
  readonly counts = { hit: 0, miss: 0, evicted: 0, failed: 0 };

  constructor(app: Application, id?: string, options: LookupOptions = {}) {
    super(app, id, options);
    this.cacheSize = Math.max(1, this.config.getInt("cache_size"));
    this.cacheTtl = this.config.getFloat("cache_ttl");
    app.metrics.addCollector(() => [
      { name: "bspump.lookup.cache", type: "counter", tags: { lookup: this.id }, fields: { ...this.counts, size: this.cache.size } },
    ]);
  }

  /** Fetches one value from the store; `undefined` when there is none (also cached). */
  protected abstract fetch(key: string): Promise<unknown>;

  /** The value from the cache, or a Promise of it. */
  lookup(key: unknown): unknown {
    const k = typeof key === "string" ? key : String(key);
    const entry = this.cache.get(k);
    if (entry !== undefined && (this.cacheTtl <= 0 || this.time() - entry.at < this.cacheTtl)) {
      this.counts.hit++;
      this.cache.delete(k);
      this.cache.set(k, entry);
      return entry.value;
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

  private remember(key: string, value: unknown): void {
    this.cache.delete(key);
    this.cache.set(key, { value, at: this.time() });
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.counts.evicted++;
    }
  }

  /** Drops the cache (e.g. after the store changed). */
  invalidate(key?: string): void {
    if (key === undefined) this.cache.clear();
    else this.cache.delete(key);
  }

  get(key: unknown): unknown {
    return this.cache.get(typeof key === "string" ? key : String(key))?.value;
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
    for (const [k, e] of this.cache) out[k] = e.value;
    return Buffer.from(JSON.stringify(out), "utf8");
  }

  deserialize(data: Buffer): void {
    const parsed = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(parsed)) this.remember(k, v);
  }
}
