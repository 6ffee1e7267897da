/**
 * The REST calls of bskibana: it reads and writes the saved-object index (`.kibana`) and the
 * lookup plugin's index (`.x-lff-lookup`) of Elasticsearch/OpenSearch directly, with `_search`
 * scrolls and `_bulk`, as BSPump's tool does (spec §3.2).
 */
import { KIBANA_LOOKUP_INDEX } from "../lookup/KibanaLookupExport.js";
import type { KibanaHit } from "./library.js";

/** The indexes `export` (and `decompile URL`) read, in this order. */
export const KIBANA_INDEXES: readonly string[] = [".kibana", KIBANA_LOOKUP_INDEX];

export interface Printer {
  /** −1 silent, 0 normal, 1 verbose. */
  level: number;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Objects read of an index's total as an export goes on (bskibana draws a progress line). */
  progress?: (done: number, total: number) => void;
}

export class KibanaHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = "KibanaHttpError";
  }
}

/** A small fetch client; credentials in the URL (`http://user:pass@host:9200/`) become Basic auth. */
export class KibanaClient {
  readonly base: string;
  private readonly headers: Record<string, string> = {};

  constructor(url: string) {
    const u = new URL(url);
    if (u.username !== "" || u.password !== "") {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      this.headers.Authorization = "Basic " + Buffer.from(`${user}:${pass}`).toString("base64");
      u.username = "";
      u.password = "";
    }
    this.base = u.toString().replace(/\/*$/, "/");
  }

  async request(method: string, path: string, body?: string, contentType = "application/json"): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { ...this.headers };
    if (body !== undefined) headers["Content-Type"] = contentType;
    const res = await fetch(this.base + path, { method, headers, body });
    return { status: res.status, text: await res.text() };
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status < 200 || r.status > 299) throw new KibanaHttpError(`${method} ${this.base}${path}: ${r.status} ${r.text.slice(0, 500)}`, r.status, r.text);
    return JSON.parse(r.text) as T;
  }

  /**
   * Whether bulk actions must carry `_type`: only Elasticsearch before 7 (Kibana 6.x). Elasticsearch 7+
   * and OpenSearch reject or ignore it. When the root endpoint does not answer, `_type` is left out.
   */
  async needsType(): Promise<boolean> {
    try {
      const info = await this.json<{ version?: { number?: string; distribution?: string } }>("GET", "");
      if (info.version?.distribution === "opensearch") return false;
      const major = Number.parseInt(info.version?.number ?? "", 10);
      return Number.isFinite(major) && major < 7;
    } catch {
      return false;
    }
  }
}

interface SearchPage {
  _scroll_id?: string;
  /** A number before Elasticsearch 7, `{value}` since. */
  hits: { hits: KibanaHit[]; total?: number | { value: number } };
}

function bare(hit: KibanaHit): KibanaHit {
  const out: KibanaHit = { _index: hit._index, _id: hit._id, _source: hit._source };
  if (hit._type !== undefined) out._type = hit._type;
  return out;
}

/**
 * Probes each index (`POST <index>/_search?scroll=1m {"size":"1"}`); an index that answers with a
 * non-200 status is reported and left out, so a Kibana without the lookup plugin still exports.
 */
export async function probeIndexes(client: KibanaClient, indexes: readonly string[], p: Printer): Promise<string[]> {
  const present: string[] = [];
  for (const index of indexes) {
    const r = await client.request("POST", `${encodeURIComponent(index)}/_search?scroll=1m`, JSON.stringify({ size: "1" }));
    if (r.status !== 200) {
      if (p.level >= 0) p.out(`Index ${index} is not available (${r.status}), skipping it`);
      continue;
    }
    const sid = (JSON.parse(r.text) as SearchPage)._scroll_id;
    if (sid !== undefined) await client.request("DELETE", "_search/scroll", JSON.stringify({ scroll_id: sid }));
    present.push(index);
  }
  return present;
}

/** Every document of one index through a scroll (100 a page), as bare hits, sorted by `_id`. */
export async function readIndex(client: KibanaClient, index: string, p: Printer): Promise<KibanaHit[]> {
  const hits: KibanaHit[] = [];
  let page = await client.json<SearchPage>("POST", `${encodeURIComponent(index)}/_search?scroll=1m`, { size: "100" });
  let scrollId = page._scroll_id;
  const total = typeof page.hits.total === "number" ? page.hits.total : page.hits.total?.value;
  try {
    while (page.hits.hits.length > 0) {
      if (p.level >= 1) p.out(`Received ${page.hits.hits.length} objects`);
      for (const h of page.hits.hits) hits.push(bare(h));
      if (total !== undefined) p.progress?.(hits.length, Math.max(total, hits.length));
      if (scrollId === undefined) break;
      page = await client.json<SearchPage>("POST", "_search/scroll", { scroll: "1m", scroll_id: scrollId });
      scrollId = page._scroll_id ?? scrollId;
    }
  } finally {
    if (scrollId !== undefined) await client.request("DELETE", "_search/scroll", JSON.stringify({ scroll_id: scrollId })).catch(() => undefined);
  }
  return hits.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}

/** The hits of every available index, each index sorted by `_id`, indexes in the given order. */
export async function readKibana(url: string, indexes: readonly string[], p: Printer): Promise<KibanaHit[]> {
  const client = new KibanaClient(url);
  const all: KibanaHit[] = [];
  for (const index of await probeIndexes(client, indexes, p)) all.push(...(await readIndex(client, index, p)));
  return all;
}

export interface ImportOptions {
  /** Target of the saved objects (those not in the lookup index), e.g. `.kibana_4`. */
  index?: string;
  /** Target of the lookup objects (`.x-lff-lookup` by default, i.e. their own `_index`). */
  lookupIndex?: string;
  /** `_type` in the bulk actions: auto-detected from the server version when undefined. */
  withType?: boolean;
  /** Make the documents searchable before returning (default true). */
  refresh?: boolean;
}

function isLookup(hit: KibanaHit): boolean {
  return hit._index === KIBANA_LOOKUP_INDEX || (hit._source as { type?: unknown }).type === "x-lff-lookup";
}

/** The `_index` an object is bulk-indexed into. */
export function importTarget(hit: KibanaHit, o: ImportOptions): string {
  if (isLookup(hit)) return o.lookupIndex ?? hit._index;
  return o.index ?? hit._index;
}

/** The NDJSON `_bulk` body: an `index` action and the `_source` per object. */
export function bulkBody(hits: readonly KibanaHit[], o: ImportOptions, withType: boolean): string {
  let body = "";
  for (const h of hits) {
    const action: Record<string, string> = { _index: importTarget(h, o) };
    if (withType && h._type !== undefined) action._type = h._type;
    action._id = h._id;
    body += JSON.stringify({ index: action }) + "\n" + JSON.stringify(h._source) + "\n";
  }
  return body;
}

export interface BulkItemResult {
  index: { _index: string; _id: string; status: number; error?: unknown };
}

export interface ImportResult {
  ok: boolean;
  status: number;
  items: BulkItemResult[];
  failed: BulkItemResult[];
  text: string;
}

/** `POST <URL>_bulk` with all objects at once. */
export async function importHits(url: string, hits: readonly KibanaHit[], o: ImportOptions = {}): Promise<ImportResult> {
  const client = new KibanaClient(url);
  const withType = o.withType ?? (await client.needsType());
  if (hits.length === 0) return { ok: true, status: 200, items: [], failed: [], text: "" };
  const r = await client.request("POST", `_bulk${o.refresh === false ? "" : "?refresh=true"}`, bulkBody(hits, o, withType), "application/x-ndjson");
  if (r.status !== 200) return { ok: false, status: r.status, items: [], failed: [], text: r.text };
  const res = JSON.parse(r.text) as { errors?: boolean; items: BulkItemResult[] };
  const failed = res.errors === true ? res.items.filter((i) => i.index.status !== 200 && i.index.status !== 201) : [];
  return { ok: failed.length === 0 && res.errors !== true, status: r.status, items: res.items, failed, text: r.text };
}
