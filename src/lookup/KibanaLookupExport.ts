import type { Lookup } from "../core/index.js";

/** The index the Kibana lookup field formatter plugin ("LFF") reads (spec §3.3). */
export const KIBANA_LOOKUP_INDEX = ".x-lff-lookup";

export interface KibanaLookupOptions {
  /** The lookup id in Kibana (default: the lookup's id). */
  id?: string;
  /** The index-pattern field type the formatter applies to (default "string"). */
  fieldType?: string;
  /** The plugin's lookup type (default "static"). */
  lookupType?: string;
}

export interface KibanaLookupDocument {
  type: "x-lff-lookup";
  fieldType: string;
  lookupType: string;
  map: { key: unknown; value: unknown }[];
}

/**
 * The `_source` of the Kibana lookup document for a lookup with entries (`DictionaryLookup`);
 * its `_id` is `x-lff-lookup:<id>` in index `.x-lff-lookup`.
 */
export function kibanaLookupDocument(lookup: Lookup & { entries(): Iterable<[string, unknown]> }, options: KibanaLookupOptions = {}): KibanaLookupDocument {
  const map: { key: unknown; value: unknown }[] = [];
  for (const [key, value] of lookup.entries()) map.push({ key, value: typeof value === "string" ? value : JSON.stringify(value) });
  return { type: "x-lff-lookup", fieldType: options.fieldType ?? "string", lookupType: options.lookupType ?? "static", map };
}

/**
 * Writes the lookup into Elasticsearch for the Kibana lookup plugin: `PUT <url>/.x-lff-lookup/_doc/x-lff-lookup:<id>`.
 * `url` is the Elasticsearch base URL (credentials in the URL or `headers`).
 */
export async function exportLookupToKibana(
  lookup: Lookup & { entries(): Iterable<[string, unknown]> },
  url: string,
  options: KibanaLookupOptions & { headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const id = `x-lff-lookup:${options.id ?? lookup.id}`;
  const target = `${url.replace(/\/+$/, "")}/${KIBANA_LOOKUP_INDEX}/_doc/${encodeURIComponent(id)}?refresh=true`;
  const res = await fetch(target, {
    method: "PUT",
    headers: { "Content-Type": "application/json", ...options.headers },
    body: JSON.stringify(kibanaLookupDocument(lookup, options)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  if (!res.ok) throw new Error(`Kibana lookup export of '${lookup.id}' failed: ${res.status} ${text.slice(0, 300)}`);
  return { status: res.status, body };
}
