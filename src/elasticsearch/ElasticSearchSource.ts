import {
  locateConnection,
  ProcessingError,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
} from "../core/index.js";
import { ElasticSearchConnection } from "./ElasticSearchConnection.js";

export interface ElasticSearchSourceOptions extends ComponentOptions {
  /** The search body (a query, aggregations); overrides the `request_body` config. */
  requestBody?: Record<string, unknown>;
  /** Page through all hits (default true); false: one page per cycle. */
  paging?: boolean;
}

interface SearchHit {
  _index?: string;
  _id?: string;
  _source?: Record<string, unknown>;
  sort?: unknown[];
  inner_hits?: Record<string, { hits?: { hits?: { _source?: Record<string, unknown> }[] } }>;
  [key: string]: unknown;
}

interface SearchResponse {
  _scroll_id?: string;
  hits?: { hits?: SearchHit[] };
  aggregations?: Record<string, unknown>;
}


/** Parses the `request_body` config (JSON text) of a source. */
export function parseRequestBody(text: string, section: string): Record<string, unknown> | null {
  if (text.trim() === "") return null;
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("not a JSON object");
    return body as Record<string, unknown>;
  } catch (e) {
    throw new ProcessingError(`[${section}] request_body is not a JSON object: ${(e as Error).message}`);
  }
}

const CONFIG = {
  index: { type: "string", default: "index-*", doc: "Index (or pattern) to search" },
  source: { type: "string", default: "_source", doc: "Field of each hit to emit" },
  sort_by: { type: "string", default: "_id", doc: "Field to sort by (ascending) when the body has no sort; must be unique per document for search_after" },
  timestamp: { type: "string", default: "@timestamp", doc: "Time field of the default query (a range from start_from); empty: match_all" },
  start_from: { type: "string", default: "now-1h", doc: "Lower bound of the default query's time range" },
  request_body: { type: "string", default: "", doc: "Search body as JSON (overrides the default query)" },
  size: { type: "int", default: 1000, doc: "Hits per page" },
  scroll: { type: "string", default: "", doc: "Scroll keep-alive (e.g. 1m) to page with the scroll API; empty: search_after" },
} satisfies ConfigSpec;

/**
 * Emits the documents matching a query, paging through all hits each cycle with `search_after`
 * (default; the last hit's sort values are kept across cycles, so later cycles continue after the
 * last document seen) or with the scroll API (`scroll`, e.g. `1m`: every cycle reads the whole
 * result again). Each event is the hit's `source` field (`_source`), with inner hits merged in.
 */
export class ElasticSearchSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: ElasticSearchConnection;
  readonly requestBody: Record<string, unknown>;
  readonly paging: boolean;
  /** The sort values of the last hit emitted (search_after), kept across cycles. */
  lastHitSort: unknown[] | null = null;
  /** Hits emitted so far, and search requests that failed. */
  emitted = 0;
  failures = 0;
  private readonly index: string;
  private readonly sourceField: string;
  private readonly size: number;
  private readonly scroll: string;

  constructor(app: Application, pipeline: Pipeline, connection: string | ElasticSearchConnection, options: ElasticSearchSourceOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, ElasticSearchConnection);
    this.index = this.config.getString("index");
    this.sourceField = this.config.getString("source");
    this.size = Math.max(1, this.config.getInt("size"));
    this.scroll = this.config.getString("scroll");
    this.paging = options.paging ?? true;
    const fromConfig = parseRequestBody(this.config.getString("request_body"), this.config.section);
    const timestamp = this.config.getString("timestamp");
    this.requestBody =
      options.requestBody ??
      fromConfig ??
      (timestamp !== ""
        ? { query: { bool: { filter: [{ range: { [timestamp]: { gte: this.config.getString("start_from") } } }] } } }
        : { query: { match_all: {} } });
    const sortBy = this.config.getString("sort_by");
    if (this.requestBody.sort === undefined && sortBy !== "") this.requestBody = { ...this.requestBody, sort: [{ [sortBy]: "asc" }] };
  }

  static override ConnectionClass = ElasticSearchConnection;

  async cycle(): Promise<void> {
    if (this.scroll !== "") await this.cycleScroll();
    else await this.cycleSearchAfter();
  }

  private async search(path: string, body: object): Promise<SearchResponse | null> {
    const res = await this.connection.client.requestWithRetry("POST", path, body, { retries: 3, shouldStop: () => this.stopping });
    if (res.status !== 200) {
      this.failures++;
      this.log.error(`Search of '${this.index}' failed: ${res.status} ${res.body.toString("utf8").slice(0, 500)}`);
      return null;
    }
    return JSON.parse(res.body.toString("utf8")) as SearchResponse;
  }

  /** Emits the hits of a page; false when the source is stopping. */
  private async emit(hits: SearchHit[]): Promise<boolean> {
    const field = this.sourceField;
    for (const hit of hits) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return false;
      const event = hit[field] as Record<string, unknown> | undefined;
      if (event === undefined) continue;
      if (hit.inner_hits !== undefined && typeof event === "object" && event !== null) {
        for (const inner of Object.values(hit.inner_hits)) for (const h of inner.hits?.hits ?? []) Object.assign(event, h._source);
      }
      this.emitted++;
      this.pipeline.process(event, { es_hit: { index: hit._index, id: hit._id } });
    }
    return true;
  }

  private async cycleSearchAfter(): Promise<void> {
    const path = `${encodeURIComponent(this.index)}/_search`;
    for (;;) {
      const body: Record<string, unknown> = { size: this.size, ...this.requestBody };
      if (this.lastHitSort !== null) body.search_after = this.lastHitSort;
      const page = await this.search(path, body);
      if (page === null) return;
      const hits = page.hits?.hits ?? [];
      if (hits.length === 0) return;
      const last = hits[hits.length - 1]!;
      if (!(await this.emit(hits))) return;
      if (Array.isArray(last.sort)) this.lastHitSort = last.sort;
      if (!this.paging || !Array.isArray(last.sort) || hits.length < (body.size as number)) return;
    }
  }

  private async cycleScroll(): Promise<void> {
    let page = await this.search(`${encodeURIComponent(this.index)}/_search?scroll=${encodeURIComponent(this.scroll)}`, { size: this.size, ...this.requestBody });
    let scrollId = page?._scroll_id;
    try {
      while (page !== null) {
        const hits = page.hits?.hits ?? [];
        if (hits.length === 0) return;
        if (!(await this.emit(hits))) return;
        if (!this.paging || scrollId === undefined) return;
        page = await this.search("_search/scroll", { scroll: this.scroll, scroll_id: scrollId });
        if (page?._scroll_id) scrollId = page._scroll_id;
      }
    } finally {
      if (scrollId !== undefined) await this.connection.client.request("DELETE", "_search/scroll", { scroll_id: scrollId }).catch(() => undefined);
    }
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Emitted: this.emitted, LastHitSort: this.lastHitSort };
  }
}
