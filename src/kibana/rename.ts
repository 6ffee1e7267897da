/** bskibana rename: gives index patterns readable ids and fixes every reference. */
import { rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Printer } from "./client.js";
import { getAt, includeFilesOf, isObject, loadLibrary, parseJsonField, quiet, type LibraryObject } from "./library.js";
import { pyDumps } from "./pyjson.js";

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
