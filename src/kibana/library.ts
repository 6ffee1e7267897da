/**
 * The Kibana Object Library (spec §3.2): a folder tree of JSON files, one per saved object, with the
 * JSON strings Kibana embeds split out into `@<name>` include files: the objects, their files and
 * loading. The verbs are in decompile.ts, compile.ts and rename.ts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { KIBANA_LOOKUP_INDEX } from "../lookup/KibanaLookupExport.js";
import type { Printer } from "./client.js";
import { pyDumps } from "./pyjson.js";

/** A raw hit of the `.kibana` index as stored in an export or compiled file. */
export interface KibanaHit {
  _index: string;
  _type?: string;
  _id: string;
  _source: Record<string, unknown>;
  /** Library only: `"skip": true` leaves the object out of compile and decompile. */
  skip?: boolean;
  [key: string]: unknown;
}

export type Json = Record<string, unknown>;

interface IncludeSpec {
  path: readonly string[];
  name: string;
  /** The field holds JSON as a string (true) or a JSON value already (the lookup's `map`). */
  stringified: boolean;
}

const meta = (t: string): IncludeSpec => ({ path: [t, "kibanaSavedObjectMeta", "searchSourceJSON"], name: "searchSourceJSON", stringified: true });

/** Which embedded JSON strings are split out into include files, per object type. */
export const INCLUDES: Readonly<Record<string, readonly IncludeSpec[]>> = {
  "index-pattern": [
    { path: ["index-pattern", "fields"], name: "fields", stringified: true },
    { path: ["index-pattern", "fieldFormatMap"], name: "fieldFormatMap", stringified: true },
  ],
  dashboard: [
    meta("dashboard"),
    { path: ["dashboard", "panelsJSON"], name: "panelsJSON", stringified: true },
    { path: ["dashboard", "optionsJSON"], name: "optionsJSON", stringified: true },
    { path: ["dashboard", "uiStateJSON"], name: "uiStateJSON", stringified: true },
  ],
  visualization: [
    meta("visualization"),
    { path: ["visualization", "visState"], name: "visState", stringified: true },
    { path: ["visualization", "uiStateJSON"], name: "uiStateJSON", stringified: true },
  ],
  search: [meta("search")],
  "x-lff-lookup": [{ path: ["map"], name: "map", stringified: false }],
};

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function getAt(root: Json, path: readonly string[]): { parent: Json; key: string } | undefined {
  let cur: unknown = root;
  for (const k of path.slice(0, -1)) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return isObject(cur) ? { parent: cur, key: path[path.length - 1]! } : undefined;
}

export function tryParse(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) as unknown };
  } catch {
    return { ok: false };
  }
}

/** The JSON value at `path`, parsed when it is a string (undefined when it is not JSON). */
export function parseJsonField(root: Json, path: readonly string[]): unknown {
  const at = getAt(root, path);
  const v = at?.parent[at.key];
  if (typeof v !== "string") return v;
  const parsed = tryParse(v);
  return parsed.ok ? parsed.value : undefined;
}

/** The object type: `_source.type`, or `x-lff-lookup` for a lookup document without one. */
export function objectType(hit: KibanaHit): string {
  const t = hit._source?.type;
  if (typeof t === "string") return t;
  if (hit._index === KIBANA_LOOKUP_INDEX || "lookupType" in (hit._source ?? {})) return "x-lff-lookup";
  throw new Error(`object ${hit._id} has no _source.type`);
}

/** `_source[type].title`, or the `_id`. */
export function objectTitle(hit: KibanaHit): string {
  const inner = hit._source?.[objectType(hit)];
  return isObject(inner) && typeof inner.title === "string" ? inner.title : hit._id;
}

/** `index-pattern:abc` → `index-pattern_abc.json`. */
export function objectFileName(id: string): string {
  return id.replace(/:/g, "_") + ".json";
}

/** `dir/visualization_x.json` + `visState` → `dir/visualization_x@visState.json`. */
export function includeFileName(objectFile: string, name: string): string {
  return objectFile.slice(0, -".json".length) + "@" + name + ".json";
}

/** Tab-indented JSON with a trailing newline, as Python's `json.dump(o, f, indent='\t')` + `'\n'`. */
export function formatJsonFile(value: unknown): string {
  return pyDumps(value, "\t") + "\n";
}

function sortIndexPatternFields(fields: unknown): unknown {
  if (!Array.isArray(fields)) return fields;
  const sorted = [...fields].sort((a: unknown, b: unknown) => {
    const an = isObject(a) ? String(a.name) : "";
    const bn = isObject(b) ? String(b.name) : "";
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  return sorted.map((f: unknown) => {
    if (!isObject(f)) return f;
    const o: Json = {};
    if ("name" in f) o.name = f.name;
    if ("type" in f) o.type = f.type;
    for (const k of Object.keys(f).filter((k) => k !== "name" && k !== "type").sort()) o[k] = f[k];
    return o;
  });
}

/**
 * Normalization (`_normalize`) of an incoming object, so that diffs stay stable: index-pattern
 * fields sorted by name with `name`, `type` first; every embedded JSON string re-serialized; old
 * `.kibana` lookups (`_source.config`) rewritten to `.x-lff-lookup` documents. Returns a new object.
 */
export function normalize(input: KibanaHit): KibanaHit {
  // Only the four keys of a hit, in their incoming order (`_score`, `sort`, … of a search are dropped).
  const hit = {} as KibanaHit;
  for (const k of Object.keys(input)) if (k === "_index" || k === "_type" || k === "_id" || k === "_source") (hit as Record<string, unknown>)[k] = k === "_source" ? structuredClone(input._source) : input[k];
  const source = hit._source;
  const type = objectType(hit);
  if (type === "x-lff-lookup") {
    const config = source.config;
    if (isObject(config)) {
      hit._index = KIBANA_LOOKUP_INDEX;
      hit._type = "lookup";
      source.fieldType = config.fieldType;
      source.lookupType = config.lookupType;
      const raw = typeof config.map === "string" ? tryParse(config.map) : { ok: true as const, value: config.map };
      const map: { key: string; value: unknown }[] = [];
      if (raw.ok && isObject(raw.value)) for (const [k, v] of Object.entries(raw.value)) map.push({ key: k, value: isObject(v) ? v.label : v });
      source.map = map;
      delete source.config;
    }
    if (!("type" in source)) source.type = "x-lff-lookup";
    return hit;
  }
  for (const spec of INCLUDES[type] ?? []) {
    const at = getAt(source, spec.path);
    if (at === undefined) continue;
    const v = at.parent[at.key];
    if (typeof v !== "string") continue;
    const parsed = tryParse(v);
    if (!parsed.ok) continue;
    at.parent[at.key] = pyDumps(spec.name === "fields" ? sortIndexPatternFields(parsed.value) : parsed.value);
  }
  return hit;
}

/** One object of the library: its file and its content with the includes expanded. */
export class LibraryObject {
  constructor(
    public file: string,
    public hit: KibanaHit,
  ) {}

  get id(): string {
    return this.hit._id;
  }
  get type(): string {
    return objectType(this.hit);
  }
  get title(): string {
    return objectTitle(this.hit);
  }
  get skipped(): boolean {
    return this.hit.skip === true;
  }

  /** Reads an object file and expands its `@includes`. */
  static load(file: string): LibraryObject {
    const hit = JSON.parse(readFileSync(file, "utf8")) as KibanaHit;
    if (!isObject(hit) || typeof hit._id !== "string" || !isObject(hit._source)) throw new Error("not a Kibana object (_id and _source expected)");
    for (const spec of INCLUDES[objectType(hit)] ?? []) {
      const at = getAt(hit._source, spec.path);
      if (at === undefined) continue;
      const v = at.parent[at.key];
      if (typeof v !== "string" || !v.startsWith("@")) continue;
      // "@ref-<name>" is the older spelling of "@<name>".
      const name = v.startsWith("@ref-") ? v.slice(5) : v.slice(1);
      let incFile = includeFileName(file, name);
      if (!existsSync(incFile) && v.startsWith("@ref-")) incFile = includeFileName(file, "ref-" + name);
      const inc = JSON.parse(readFileSync(incFile, "utf8")) as unknown;
      at.parent[at.key] = spec.stringified ? pyDumps(inc) : inc;
    }
    return new LibraryObject(file, hit);
  }

  /** The files this object writes: the object file and its include files, with their text. */
  render(file = this.file): Map<string, string> {
    const out = new Map<string, string>();
    const hit = structuredClone(this.hit);
    for (const spec of INCLUDES[objectType(hit)] ?? []) {
      const at = getAt(hit._source, spec.path);
      if (at === undefined) continue;
      const v = at.parent[at.key];
      if (v === undefined || v === null) continue;
      let value: unknown = v;
      if (spec.stringified) {
        if (typeof v !== "string") continue;
        const parsed = tryParse(v);
        if (!parsed.ok) continue; // not JSON: stays inline
        value = parsed.value;
        // An empty index-pattern field list stays inline.
        if (spec.name === "fields" && Array.isArray(value) && value.length === 0) continue;
      }
      out.set(includeFileName(file, spec.name), formatJsonFile(value));
      at.parent[at.key] = "@" + spec.name;
    }
    out.set(file, formatJsonFile(hit));
    return out;
  }

  /** Writes the object file and its include files (at `file`, default its own), removing stale include files. */
  save(file = this.file): void {
    mkdirSync(dirname(file), { recursive: true });
    const files = this.render(file);
    for (const name of includeFilesOf(file)) if (!files.has(name)) rmSync(name, { force: true });
    for (const [name, text] of files) writeFileSync(name, text);
    this.file = file;
  }
}

/** The include files that exist next to an object file. */
export function includeFilesOf(file: string): string[] {
  const dir = dirname(file);
  const prefix = basename(file).slice(0, -".json".length) + "@";
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith(".json"))
    .map((n) => join(dir, n));
}

export interface Library {
  objects: Map<string, LibraryObject>;
  errors: { file: string; error: string }[];
}

function walk(dir: string, found: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, found);
    else if (name.endsWith(".json") && !name.includes("@")) found.push(p);
  }
}

/** The printer of the verbs when none is given: prints nothing. */
export const quiet: Printer = { level: -1, out: () => undefined, err: () => undefined };

/** Loads every `*.json` without `@` in its name under the DIRs; later DIRs win on a duplicate `_id`. */
export function loadLibrary(dirs: readonly string[], p: Printer = quiet): Library {
  const objects = new Map<string, LibraryObject>();
  const errors: { file: string; error: string }[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const files: string[] = [];
    walk(dir, files);
    for (const file of files) {
      try {
        const o = LibraryObject.load(file);
        if (p.level >= 1) p.out(`Loaded ${o.id} of type ${o.type}`);
        objects.set(o.id, o);
      } catch (e) {
        errors.push({ file, error: (e as Error).message });
        p.err(`Failed to load ${file}\n${(e as Error).message}`);
      }
    }
  }
  if (p.level >= 0) p.out(`Loaded ${objects.size} objects from library`);
  return { objects, errors };
}
