import type { Application, ConfigSpec, TypedConfig } from "../core/index.js";
import { AsyncLookup } from "./AsyncLookup.js";
import { LRUCacheDict, type CachedLookupOptions, type LookupCache } from "./LRUCacheDict.js";
import { MemcachedClient } from "./memcachedClient.js";

const CONFIG = {
  max_size: { type: "int", default: 1000, min: 0, doc: "Values kept in the local LRU cache in front of memcached (0: none, every lookup asks memcached)" },
  expiry_seconds: { type: "int", default: 3600, min: 0, doc: "Expiry of the items `set()` stores (0: never); also the longest a value stays in the local cache" },
  server: { type: "string", default: "127.0.0.1:11211", doc: "memcached server, host:port" },
  cache_size: { type: "int", default: 1000, min: 1, doc: "Not used by MemcachedLookup: `max_size` sizes its local cache" },
} satisfies ConfigSpec;

/**
 * BSPump's MemcachedLookup: key → value in a memcached server (text protocol over TCP, see
 * memcachedClient.ts for how values are typed). `lookup(key)` answers from a local LRU cache of
 * `max_size` values, or asks memcached (concurrent misses of a key share one request; an absent
 * key is cached as absent); `await getAsync(key)` always gives a value. `set(dict)` stores every
 * item with `expiry_seconds`; `delete(key)`, `flushAll()` and `closeConnection()` as in BSPump
 * (`flush_all`, `close_connection`). Not a master or slave: memcached is shared already.
 * Another client's change is seen once the local copy expired (`cache_ttl`, at most
 * `expiry_seconds`) or was pushed out; `max_size = 0` always asks memcached.
 */
export class MemcachedLookup extends AsyncLookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & AsyncLookup["config"];

  readonly client: MemcachedClient;
  readonly expiry: number;

  constructor(app: Application, id?: string, options: CachedLookupOptions = {}) {
    super(app, id ?? "MemcachedLookup", options);
    this.expiry = this.config.getInt("expiry_seconds");
    this.client = new MemcachedClient(this.config.getString("server"));
  }

  protected override defaultCache(app: Application): LookupCache {
    const expiry = this.config.getInt("expiry_seconds");
    const ttl = this.config.getFloat("cache_ttl");
    const age = [ttl, expiry].filter((s) => s > 0);
    return new LRUCacheDict(app, this.config.getInt("max_size"), null, age.length > 0 ? Math.min(...age) : null);
  }

  protected fetch(key: string): Promise<unknown> {
    return this.client.get(key);
  }

  /** Stores every item of `dictionary` with the expiry (and in the local cache). */
  async set(dictionary: Record<string, unknown> | Map<string, unknown>): Promise<void> {
    const entries = dictionary instanceof Map ? [...dictionary] : Object.entries(dictionary);
    await Promise.all(entries.map(([key, value]) => this.client.set(key, value, this.expiry)));
    for (const [key, value] of entries) this.remember(key, value);
    this.changed();
  }

  /** Removes `key` from memcached and the local cache; true when memcached had it. */
  async delete(key: string): Promise<boolean> {
    this.invalidate(key);
    return this.client.delete(key);
  }

  /** Empties the memcached server (every key, not only this lookup's) and the local cache. */
  async flushAll(): Promise<void> {
    this.invalidate();
    await this.client.flushAll();
  }

  closeConnection(): void {
    this.client.close();
  }

  override async finalize(): Promise<void> {
    this.client.close();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Server: `${this.client.host}:${this.client.port}`, ExpirySeconds: this.expiry };
  }
}
