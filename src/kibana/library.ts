/**
 * The Kibana Object Library (spec §3.2): a folder tree of JSON files, one per saved object, with the
 * JSON strings Kibana embeds split out into `@<name>` include files. decompile / compile / rename.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { KIBANA_LOOKUP_INDEX } from "../lookup/KibanaLookupExport.js";
import type { Printer } from "./client.js";
import { jsonEqual, pyDumps } from "./pyjson.js";

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

type Json = Record<string, unknown>;

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

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function getAt(root: Json, path: readonly string[]): { parent: Json; key: string } | undefined {
  let cur: unknown = root;
  for (const k of path.slice(0, -1)) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return isObject(cur) ? { parent: cur, key: path[path.length - 1]! } : undefined;
}

function tryParse(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) as unknown };
  } catch {
    return { ok: false };
  }
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

const quiet: Printer = { level: -1, out: () => undefined, err: () => undefined };

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

// --------------------------------------------------------------------------------- decompile

export type DecompileStatus = "new" | "unchanged" | "updated" | "skipped";

export interface DecompileEntry {
  status: DecompileStatus;
  type: string;
  id: string;
  title: string;
  file: string;
}

export interface DecompileResult {
  entries: DecompileEntry[];
  counts: Record<DecompileStatus, number>;
}

/** Splits objects into the library under `dirs` (new ones into `<dirs[0]>/new/`). */
export function decompile(hits: readonly KibanaHit[], dirs: readonly string[], p: Printer = quiet): DecompileResult {
  if (dirs.length === 0) throw new Error("decompile needs at least one library directory");
  const library = loadLibrary(dirs, p);
  const entries: DecompileEntry[] = [];
  const counts: Record<DecompileStatus, number> = { new: 0, unchanged: 0, updated: 0, skipped: 0 };
  for (const raw of hits) {
    let incoming: KibanaHit;
    try {
      incoming = normalize(raw);
    } catch (e) {
      p.err(`Cannot decompile ${raw._id}: ${(e as Error).message}`);
      continue;
    }
    const target = library.objects.get(incoming._id);
    let status: DecompileStatus;
    let obj: LibraryObject;
    if (target === undefined) {
      obj = new LibraryObject(join(dirs[0]!, "new", objectFileName(incoming._id)), incoming);
      obj.save();
      library.objects.set(obj.id, obj);
      status = "new";
    } else if (target.skipped) {
      if (p.level >= 0) p.out(`Skipping ${target.id}`);
      obj = target;
      status = "skipped";
    } else if (jsonEqual(target.hit, incoming)) {
      obj = target;
      status = "unchanged";
    } else {
      target.hit = incoming;
      target.save();
      obj = target;
      status = "updated";
    }
    if (p.level >= 1 && status !== "skipped") p.out(`${obj.id} ${status}`);
    counts[status]++;
    entries.push({ status, type: obj.type, id: obj.id, title: obj.title, file: obj.file });
  }
  const total = entries.length;
  if (p.level >= 0) p.out(`Decompiled ${total} objects into ${counts.new} new, ${counts.unchanged} unchanged, ${counts.updated} updated`);
  return { entries, counts };
}

/** The `--csv` log: `status \t type \t id \t title \t directory \t file`, one line per object. */
export function decompileLog(entries: readonly DecompileEntry[]): string {
  return entries.map((e) => [e.status, e.type, e.id, e.title, dirname(e.file), e.file].join("\t") + "\n").join("");
}

// --------------------------------------------------------------------------------- compile

/** The compiled (and exported) file: `[`, one object per line, `]`. */
export function formatCompiled(hits: readonly KibanaHit[]): string {
  return "[\n" + hits.map((h) => pyDumps(h)).join(",\n") + "\n]\n";
}

/** Writes `text` to `file~` and renames it to `file`; the temporary file is deleted on error. */
export function writeAtomic(file: string, text: string): void {
  const tmp = file + "~";
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface CompileOptions {
  /** Only objects related to these index patterns (titles; `_*` is appended unless present). */
  indexPatterns?: readonly string[];
}

export interface CompileResult {
  hits: KibanaHit[];
  /** Per type: [added, out of]. */
  perType: Map<string, [number, number]>;
  messages: string[];
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function parseJsonField(root: Json, path: readonly string[]): unknown {
  const at = getAt(root, path);
  const v = at?.parent[at.key];
  if (typeof v !== "string") return v;
  const parsed = tryParse(v);
  return parsed.ok ? parsed.value : undefined;
}

/** The objects of the library, sorted by `_id`, filtered by index patterns when asked. */
export function compile(library: Library, o: CompileOptions = {}, p: Printer = quiet): CompileResult {
  const all = [...library.objects.values()].filter((x) => !x.skipped).sort(byId);
  const perType = new Map<string, [number, number]>();
  const messages: string[] = [];
  const note = (m: string): void => {
    messages.push(m);
    if (p.level >= 0) p.out(m);
  };
  const count = (type: string, added: boolean): void => {
    const c = perType.get(type) ?? [0, 0];
    c[1]++;
    if (added) c[0]++;
    perType.set(type, c);
  };
  if (o.indexPatterns === undefined || o.indexPatterns.length === 0) {
    for (const x of all) {
      count(x.type, true);
      if (p.level >= 1) p.out(`${x.id} compiled`);
    }
    return { hits: all.map((x) => x.hit), perType, messages };
  }

  const patterns = new Set(o.indexPatterns.map((s) => (s.endsWith("_*") ? s : s + "_*")));
  const get = (id: string): LibraryObject | undefined => {
    const x = library.objects.get(id);
    return x === undefined || x.skipped ? undefined : x;
  };
  const patternKept = (x: LibraryObject): boolean => x.type === "index-pattern" && patterns.has(x.title);

  // The related lookups come from every kept pattern's fieldFormatMap, before any lookup is looked at
  // (BSPump relied on `index-pattern:` sorting before `x-lff-lookup:`).
  const relatedLookups = new Set<string>();
  for (const x of all) {
    if (!patternKept(x)) continue;
    const ffm = parseJsonField(x.hit._source, ["index-pattern", "fieldFormatMap"]);
    if (isObject(ffm)) {
      for (const v of Object.values(ffm)) {
        if (!isObject(v)) continue;
        if (typeof v.id === "string") relatedLookups.add(`x-lff-lookup:${v.id}`);
        const params = v.params;
        if (isObject(params) && typeof params.lookupId === "string") relatedLookups.add(`x-lff-lookup:${params.lookupId}`);
      }
    }
  }

  /** The index-pattern id a search or visualization reads, following savedSearchId. */
  const relates = (x: LibraryObject, seen: Set<string>): boolean | string => {
    if (seen.has(x.id)) return `reference loop at ${x.id}`;
    seen.add(x.id);
    const inner = x.hit._source[x.type];
    if (isObject(inner) && typeof inner.savedSearchId === "string" && inner.savedSearchId !== "") {
      const s = get(`search:${inner.savedSearchId}`);
      if (s === undefined) return `Cannot find 'search:${inner.savedSearchId}' referenced from ${x.id}`;
      return relates(s, seen);
    }
    const ssj = parseJsonField(x.hit._source, [x.type, "kibanaSavedObjectMeta", "searchSourceJSON"]);
    const index = isObject(ssj) ? ssj.index : undefined;
    if (typeof index !== "string") return false;
    const ip = get(`index-pattern:${index}`);
    if (ip === undefined) return `Cannot find 'index-pattern:${index}' referenced from ${x.id}`;
    return patternKept(ip);
  };

  const keptPatterns = new Set(all.filter(patternKept).map((x) => x.id));
  const hits: KibanaHit[] = [];
  for (const x of all) {
    let keep = false;
    let hit = x.hit;
    switch (x.type) {
      case "index-pattern":
        keep = patternKept(x);
        if (keep) {
          const fields = (x.hit._source["index-pattern"] as Json | undefined)?.fields;
          if (fields === undefined || fields === null) note(`ALERT: index pattern ${x.id} (${x.title}) has no fields`);
        }
        break;
      case "search":
      case "visualization": {
        const r = relates(x, new Set());
        if (typeof r === "string") note(`${r}, skipping it`);
        keep = r === true;
        break;
      }
      case "dashboard": {
        const panels = parseJsonField(x.hit._source, ["dashboard", "panelsJSON"]);
        keep = true;
        for (const panel of Array.isArray(panels) ? panels : []) {
          if (!isObject(panel)) continue;
          const pid = `${String(panel.type)}:${String(panel.id)}`;
          const target = get(pid);
          if (target === undefined) {
            // BSPump returned from the whole compile here, leaving FILE~ behind; only this dashboard is left out.
            note(`Cannot find '${pid}' referenced from dashboard ${x.id}, skipping the dashboard`);
            keep = false;
            break;
          }
          const r = target.type === "search" || target.type === "visualization" ? relates(target, new Set()) : false;
          if (r !== true) {
            if (typeof r === "string") note(`${r}, skipping dashboard ${x.id}`);
            keep = false;
            break;
          }
        }
        break;
      }
      case "x-lff-lookup":
        keep = relatedLookups.has(x.id);
        break;
      case "config": {
        keep = true;
        const cfg = x.hit._source.config;
        if (isObject(cfg) && typeof cfg.defaultIndex === "string" && !keptPatterns.has(`index-pattern:${cfg.defaultIndex}`)) {
          hit = structuredClone(x.hit);
          delete (hit._source.config as Json).defaultIndex;
        }
        break;
      }
      case "timelion-sheet":
        keep = true;
        break;
      default:
        note(`Skipping ${x.id}: type ${x.type} is not handled with --index-pattern`);
    }
    count(x.type, keep);
    if (keep) {
      hits.push(hit);
      if (p.level >= 1) p.out(`${x.id} compiled`);
    }
  }
  for (const [type, [added, total]] of [...perType].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (p.level >= 0) p.out(`${added} ${type}(s) added out of ${total}`);
  }
  return { hits, perType, messages };
}

// --------------------------------------------------------------------------------- rename

export interface RenameOptions {
  /** Rename only this index pattern (its id without `index-pattern:`). */
  indexPattern?: string;
  /** Its new id (default: its title stripped of `_` and `*` at both ends). */
  newId?: string;
}

export interface RenameResult {
  map: Map<string, string>;
  /** Per old id: references replaced. */
  replacements: Map<string, number>;
  changedFiles: number;
  renamedFiles: number;
  errors: string[];
}

/** Python's `s.strip('_*')`. */
export function stripUnderscoreStar(s: string): string {
  return s.replace(/^[_*]+/, "").replace(/[_*]+$/, "");
}

/** Gives index patterns readable ids based on their titles and fixes every reference. */
export function rename(dirs: readonly string[], o: RenameOptions = {}, p: Printer = quiet): RenameResult {
  const library = loadLibrary(dirs, p);
  const map = new Map<string, string>();
  const errors: string[] = [];
  const patternId = (x: LibraryObject): string => x.id.slice("index-pattern:".length);
  if (o.indexPattern !== undefined) {
    const x = library.objects.get(`index-pattern:${o.indexPattern}`);
    if (x === undefined || x.type !== "index-pattern") errors.push(`Unknown index pattern '${o.indexPattern}'`);
    else map.set(o.indexPattern, o.newId ?? stripUnderscoreStar(x.title));
  } else {
    for (const x of library.objects.values()) if (x.type === "index-pattern") map.set(patternId(x), stripUnderscoreStar(x.title));
  }
  for (const [k, v] of [...map]) if (k === v || v === "") map.delete(k);
  for (const e of errors) p.err(e);

  const replacements = new Map<string, number>();
  const bump = (old: string): void => void replacements.set(old, (replacements.get(old) ?? 0) + 1);
  const changed = new Set<LibraryObject>();
  const moves = new Map<LibraryObject, string>();

  for (const x of library.objects.values()) {
    const source = x.hit._source;
    if (x.type === "index-pattern") {
      const old = patternId(x);
      const neu = map.get(old);
      if (neu !== undefined) {
        x.hit._id = `index-pattern:${neu}`;
        moves.set(x, join(dirname(x.file), basename(x.file).split(`index-pattern_${old}`).join(`index-pattern_${neu}`)));
        changed.add(x);
      }
    } else if (x.type === "search" || x.type === "visualization" || x.type === "dashboard") {
      const at = getAt(source, [x.type, "kibanaSavedObjectMeta", "searchSourceJSON"]);
      const ssj = at === undefined ? undefined : parseJsonField(source, [x.type, "kibanaSavedObjectMeta", "searchSourceJSON"]);
      if (at !== undefined && isObject(ssj)) {
        let touched = false;
        if (typeof ssj.index === "string" && map.has(ssj.index)) {
          bump(ssj.index);
          ssj.index = map.get(ssj.index);
          touched = true;
        }
        if (Array.isArray(ssj.filter)) {
          for (const f of ssj.filter) {
            const m = isObject(f) ? f.meta : undefined;
            if (isObject(m) && typeof m.index === "string" && map.has(m.index)) {
              bump(m.index);
              m.index = map.get(m.index);
              touched = true;
            }
          }
        }
        if (touched) {
          at.parent[at.key] = pyDumps(ssj);
          changed.add(x);
        }
      }
      // Kibana 7 keeps references in a list too.
      const refs = source.references;
      if (Array.isArray(refs)) {
        for (const r of refs) {
          if (isObject(r) && r.type === "index-pattern" && typeof r.id === "string" && map.has(r.id)) {
            bump(r.id);
            r.id = map.get(r.id);
            changed.add(x);
          }
        }
      }
    } else if (x.type === "config") {
      const cfg = source.config;
      if (isObject(cfg) && typeof cfg.defaultIndex === "string" && map.has(cfg.defaultIndex)) {
        bump(cfg.defaultIndex);
        cfg.defaultIndex = map.get(cfg.defaultIndex);
        changed.add(x);
      }
    }
    // TODO (as in BSPump): `url` objects are not rewritten.
  }

  let renamedFiles = 0;
  for (const x of changed) {
    const to = moves.get(x);
    if (to !== undefined && to !== x.file) {
      const oldFiles = [x.file, ...includeFilesOf(x.file)];
      x.save(to);
      for (const f of oldFiles) rmSync(f, { force: true });
      renamedFiles++;
    } else {
      x.save();
    }
  }
  if (p.level >= 1) for (const [old, n] of replacements) p.out(`${old} → ${map.get(old)}: ${n} references replaced`);
  if (p.level >= 0) p.out(`BSKibana made changes in ${changed.size} files and renamed ${renamedFiles}.`);
  return { map, replacements, changedFiles: changed.size, renamedFiles, errors };
}
