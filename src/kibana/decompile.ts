/** bskibana decompile: splits exported objects into the Kibana Object Library. */
import { dirname, join } from "node:path";
import type { Printer } from "./client.js";
import { LibraryObject, loadLibrary, normalize, objectFileName, quiet, type KibanaHit } from "./library.js";
import { jsonEqual } from "./pyjson.js";

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
