import { locateConnection, Lookup, type Application, type Counter, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { LRUCacheDict, type CachedLookupOptions, type LookupCache } from "../lookup/LRUCacheDict.js";
import { ElasticSearchConnection } from "./ElasticSearchConnection.js";

type Doc = Record<string, unknown>;

const CONFIG = {
  index: { type: "string", default: "", doc: "Index to search", required: true },
  key: { type: "string", default: "", doc: "Field matched against the key", required: true },
  scroll_timeout: { type: "string", default: "1m", doc: "Scroll keep-alive when the whole index is read (preload, iterate)" },
  cache_size: { type: "int", default: 10000, doc: "Documents kept in the LRU cache" },
  preload: { type: "bool", default: false, doc: "Read the whole index into the cache on load (up to cache_size)" },
} satisfies ConfigSpec;

/**
 * Key → document from an Elasticsearch index: `await lookup.get(key)` searches `index` for a
 * document whose `key` field matches and returns its `_source` (null when there is none). Found
 * documents are kept in an LRUCacheDict of `cache_size` entries, or the cache given as `cache`
 * (BSPump's `cache=`: a CacheDict or an LRUCacheDict); `getCached(key)` reads it synchronously.
 * Only found documents are cached, as in BSPump. Concurrent gets of one key share one request.
 */
export class ElasticSearchLookup extends Lookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: ElasticSearchConnection;
  readonly index: string;
  readonly keyField: string;
  private readonly cacheSize: number;
  readonly cache: LookupCache;
  private readonly inFlight = new Map<string, Promise<Doc | null>>();
  readonly cacheCounter: Counter;
  readonly successCounter: Counter;

  constructor(app: Application, connection: string | ElasticSearchConnection, id?: string, options: CachedLookupOptions = {}) {
    const { cache, ...rest } = options;
    super(app, id, rest);
    // BSPump stored the connection object as given and its construct() passed arguments in the wrong order [BUG].
    this.connection = locateConnection(app, connection, ElasticSearchConnection);
    this.index = this.config.getString("index");
    this.keyField = this.config.getString("key");
    this.cacheSize = Math.max(1, this.config.getInt("cache_size"));
    this.cache = cache ?? new LRUCacheDict(app, this.cacheSize);
    this.cacheCounter = app.metrics.createCounter("es.lookup.cache", { lookup: this.id }, ["hit", "miss"]);
    this.successCounter = app.metrics.createCounter("es.lookup.success", { lookup: this.id }, ["hit", "miss"]);
  }

  static override ConnectionClass = ElasticSearchConnection;

  /** The query that finds the document of `key` (override for other matching). */
  buildFindOneQuery(key: unknown): Doc {
    return { match: { [this.keyField]: key } };
  }

  /** The cached document of `key`, or undefined (no request). */
  getCached(key: unknown): Doc | undefined {
    return this.cache.get(String(key)) as Doc | undefined;
  }

  /** The document of `key`, from the cache or the index; null when there is none. */
  override get(key: unknown): Promise<Doc | null> {
    const cached = this.getCached(key);
    if (cached !== undefined) {
      this.cacheCounter.add("hit");
      return Promise.resolve(cached);
    }
    this.cacheCounter.add("miss");
    const k = String(key);
    let pending = this.inFlight.get(k);
    if (pending === undefined) {
      pending = this.fetch(key, k).finally(() => this.inFlight.delete(k));
      this.inFlight.set(k, pending);
    }
    return pending;
  }

  private async fetch(key: unknown, k: string): Promise<Doc | null> {
    const res = await this.connection.client.json<{ hits?: { hits?: { _source?: Doc }[] } }>("POST", `${encodeURIComponent(this.index)}/_search`, {
      size: 1,
      query: this.buildFindOneQuery(key),
    });
    const doc = res.hits?.hits?.[0]?._source ?? null;
    if (doc === null) {
      this.successCounter.add("miss");
      return null;
    }
    this.successCounter.add("hit");
    this.remember(k, doc);
    return doc;
  }

  private remember(k: string, doc: Doc): void {
    this.cache.set(k, doc);
  }

  has(key: unknown): boolean {
    return this.cache.has(String(key));
  }

  get size(): number {
    return this.cache.size;
  }

  /** Reads every document of the index with the scroll API: `[key, document]` pairs. */
  async *iterate(batchSize = 1000): AsyncGenerator<[unknown, Doc]> {
    const client = this.connection.client;
    const scroll = this.config.getString("scroll_timeout");
    type Page = { _scroll_id?: string; hits?: { hits?: { _source?: Doc }[] } };
    let page = await client.json<Page>("POST", `${encodeURIComponent(this.index)}/_search?scroll=${encodeURIComponent(scroll)}`, { size: batchSize, sort: ["_doc"] });
    let scrollId = page._scroll_id;
    try {
      for (;;) {
        const hits = page.hits?.hits ?? [];
        if (hits.length === 0) return;
        for (const hit of hits) if (hit._source) yield [hit._source[this.keyField], hit._source];
        if (scrollId === undefined) return;
        page = await client.json<Page>("POST", "_search/scroll", { scroll, scroll_id: scrollId });
        scrollId = page._scroll_id ?? scrollId;
      }
    } finally {
      if (scrollId !== undefined) await client.request("DELETE", "_search/scroll", { scroll_id: scrollId }).catch(() => undefined);
    }
  }

  /** With `preload`, reads the index into the cache (up to cache_size documents). */
  override async load(): Promise<boolean> {
    if (!this.config.getBool("preload")) return false;
    let n = 0;
    for await (const [key, doc] of this.iterate()) {
      if (key === undefined || key === null) continue;
      this.remember(String(key), doc);
      if (++n >= this.cacheSize) break;
    }
    this.etag = `${Date.now().toString(36)}-${this.cache.size}`;
    return true;
  }

  serialize(): Buffer {
    return Buffer.from(JSON.stringify([...this.cache.items()]));
  }

  deserialize(data: Buffer): void {
    this.cache.clear();
    for (const [k, v] of JSON.parse(data.toString("utf8")) as [string, Doc][]) this.remember(k, v);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Index: this.index, Key: this.keyField, CacheSize: this.cacheSize, Cache: this.cacheCounter.values, Success: this.successCounter.values };
  }
}
