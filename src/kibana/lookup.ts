/**
 * A BSPump lookup as a Kibana Object Library object for the lookup field formatter plugin (§3.3):
 * `{_index: ".x-lff-lookup", _type: "lookup", _id: "x-lff-lookup:<id>", _source}`, with the `_source`
 * built by `kibanaLookupDocument` of the lookup family. Save it into a library (`LibraryObject`) or
 * import it (`importHits`) together with the saved objects.
 */
import type { Lookup } from "../core/index.js";
import { KIBANA_LOOKUP_INDEX, kibanaLookupDocument, type KibanaLookupOptions } from "../lookup/KibanaLookupExport.js";
import type { KibanaHit } from "./library.js";

export function lookupHit(lookup: Lookup & { entries(): Iterable<[string, unknown]> }, options: KibanaLookupOptions = {}): KibanaHit {
  const source = kibanaLookupDocument(lookup, options) as unknown as Record<string, unknown>;
  return { _index: KIBANA_LOOKUP_INDEX, _type: "lookup", _id: `x-lff-lookup:${options.id ?? lookup.id}`, _source: source };
}
