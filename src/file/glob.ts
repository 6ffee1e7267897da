import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, sep } from "node:path";

/**
 * Glob and fnmatch, as BSPump's file sources use them (Python's `glob.glob(recursive=True)` and
 * `fnmatch.fnmatch`). Results come back sorted, so files are taken in a stable order.
 */

/** Translates one fnmatch pattern into a RegExp. `*` and `?` match any character (also `/`), as fnmatch does. */
export function fnmatchRegExp(pattern: string, pathSegment = false): RegExp {
  let re = "";
  const any = pathSegment ? "[^/]" : ".";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += `${any}*`;
    else if (c === "?") re += any;
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

export function fnmatch(name: string, pattern: string): boolean {
  return fnmatchRegExp(pattern).test(name);
}

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Expands a glob pattern (`*`, `?`, `[..]`, `**` for any depth) into existing paths, sorted. */
export async function glob(pattern: string): Promise<string[]> {
  const absolute = isAbsolute(pattern);
  const parts = pattern.split(/[\\/]+/).filter((p, i) => p !== "" || i === 0);
  let bases: string[];
  let rest: string[];
  if (absolute) {
    bases = [sep];
    rest = parts.slice(1);
  } else {
    bases = ["."];
    rest = parts;
  }
  // Fixed leading segments are joined without listing directories.
  while (rest.length > 1 && !hasMagic(rest[0]!)) {
    bases = [join(bases[0]!, rest[0]!)];
    rest = rest.slice(1);
  }
  const out = new Set<string>();
  for (const base of bases) await walk(base, rest, out);
  return [...out].sort();
}

/**
 * `dir`'s entry `name`, as join() would give it: `dir` is normalized already (it comes from join()
 * or from here), and a name from readdir holds no separator. join() normalizes the whole path again,
 * for each of the thousands of entries of a folder; an absolute path is as resolve() would give it,
 * without resolve() asking for the working directory each time.
 */
function child(dir: string, name: string): string {
  if (dir === ".") return name;
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

async function walk(dir: string, parts: string[], out: Set<string>): Promise<void> {
  if (parts.length === 0) return;
  const [head, ...tail] = parts as [string, ...string[]];
  if (head === "**") {
    // Zero directories…
    if (tail.length === 0) {
      await listAll(dir, out);
      return;
    }
    await walk(dir, tail, out);
    // …or one more directory, then `**` again.
    for (const entry of await listDir(dir)) {
      if (entry.dir && !entry.name.startsWith(".")) await walk(child(dir, entry.name), parts, out);
    }
    return;
  }
  if (!hasMagic(head)) {
    const path = join(dir, head);
    if (tail.length === 0) {
      if (await exists(path)) out.add(path);
    } else await walk(path, tail, out);
    return;
  }
  const re = fnmatchRegExp(head, true);
  for (const entry of await listDir(dir)) {
    if (entry.name.startsWith(".") && !head.startsWith(".")) continue;
    if (!re.test(entry.name)) continue;
    const path = child(dir, entry.name);
    if (tail.length === 0) out.add(path);
    else if (entry.dir) await walk(path, tail, out);
  }
}

async function listAll(dir: string, out: Set<string>): Promise<void> {
  for (const entry of await listDir(dir)) {
    if (entry.name.startsWith(".")) continue;
    const path = child(dir, entry.name);
    out.add(path);
    if (entry.dir) await listAll(path, out);
  }
}

async function listDir(dir: string): Promise<{ name: string; dir: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((e) => ({ name: e.name, dir: e.isDirectory() }));
  } catch {
    return [];
  }
}

/** Whether something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
