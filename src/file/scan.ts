import { lstat, rename, stat } from "node:fs/promises";
import { lstatSync, statSync, type Stats } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { inWorkerOrder, toError, type Logger } from "../core/index.js";
import { filesHeldOpen } from "./openfiles.js";
import { glob } from "./glob.js";
import type { EventLoopTurns, LocalFolders } from "./syncio.js";

/** Files stat()ed at once while scanning (asynchronously). */
const STAT_BATCH = 128;

/** What identifies a file's content for post=noop (and sizes its reads). */
export type FileStats = { size: number; mtimeMs: number; ctimeMs: number; ino: number };

/** What a scan found: paths in order, the same resolved, and their stat(). */
export interface ScannedFiles {
  paths: string[];
  absolute: string[];
  stats: FileStats[];
}

/** Whether a file is as it was when `known` was taken (post=noop): the inode, size and mtime. */
export function sameContent(known: FileStats | undefined, st: FileStats): boolean {
  return known !== undefined && known.ino === st.ino && known.size === st.size && known.mtimeMs === st.mtimeMs;
}

/** sameContent() and the ctime: also changes with a file's mode or owner. */
export function sameChange(known: FileStats | undefined, st: FileStats): boolean {
  return sameContent(known, st) && known!.ctimeMs === st.ctimeMs;
}

/** The fields of a stat() kept for a file already seen (not the whole Stats object). */
export function compactStats(st: FileStats): FileStats {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** The `file_count` metric of a scan. */
export interface ScanCounts {
  processed: number;
  failed: number;
  locked: number;
  unprocessed: number;
  all_files: number;
  scan_time: number;
}

export interface ScanOptions {
  patterns: readonly string[];
  include: RegExp | null;
  exclude: RegExp | null;
  followSymlinks: boolean;
  /** Whether a file found is left out (already read with post=noop, or unreadable and unchanged). */
  skip(path: string, st: FileStats): boolean;
  /** Whether a file found is left out without even a stat() (read with post=noop in this trigger cycle). */
  skipName(path: string): boolean;
  /** With `sync_io`: folders whose files are stat()ed with synchronous calls, and turns for the event loop meanwhile. */
  local: LocalFolders | null;
  turns: EventLoopTurns;
}

/**
 * The files to read, in sorted order (patterns in the order given): regular files, not `-locked`,
 * `-failed` or `-processed`, passing include/exclude, not skipped. `absolute` holds the same paths
 * resolved, for the open-file check; `stats` their stat() (the rename that locks a file keeps it:
 * no second stat per file). `named` is every candidate's path but those `skipName` left out.
 */
export async function scanFiles(o: ScanOptions): Promise<{ found: ScannedFiles; counts: ScanCounts; named: Set<string> }> {
  const t0 = performance.now();
  const counts: ScanCounts = { processed: 0, failed: 0, locked: 0, unprocessed: 0, all_files: 0, scan_time: 0 };
  const named = new Set<string>();
  for (const pattern of o.patterns) {
    for (const path of await glob(pattern)) {
      counts.all_files++;
      if (path.endsWith("-locked")) counts.locked++;
      else if (path.endsWith("-failed")) counts.failed++;
      else if (path.endsWith("-processed")) counts.processed++;
      else if (o.exclude?.test(path) || (o.include && !o.include.test(path))) continue;
      else if (!o.skipName(path)) named.add(path);
    }
  }
  // Worker processes share the folder: each starts at its own place in it (fewer lost races).
  const candidates = inWorkerOrder([...named]);
  // Without following links, a link is not a regular file to lstat(): skipped.
  const stats: (Stats | null)[] = new Array<Stats | null>(candidates.length).fill(null);
  const remote: number[] = [];
  o.local?.clear();
  for (let i = 0; i < candidates.length; i++) {
    const path = candidates[i]!;
    if (o.local === null || !o.local.has(path)) {
      remote.push(i);
      continue;
    }
    // Local: a synchronous stat() takes a few µs, less than its round trip through the thread pool.
    try {
      stats[i] = (o.followSymlinks ? statSync : lstatSync)(path, { throwIfNoEntry: false }) ?? null;
    } catch {
      stats[i] = null; // as the asynchronous stat() below: a file that cannot be stat()ed is not read
    }
    const turn = o.turns.take();
    if (turn) await turn;
  }
  // The others in batches: awaited one by one, each waits its own turn on the thread pool (~30 µs).
  for (let from = 0; from < remote.length; from += STAT_BATCH) {
    const batch = remote.slice(from, from + STAT_BATCH);
    const got = await Promise.all(batch.map((i) => (o.followSymlinks ? stat : lstat)(candidates[i]!).catch(() => null)));
    for (let k = 0; k < batch.length; k++) stats[batch[k]!] = got[k];
  }
  const paths: string[] = [];
  const found: FileStats[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const st = stats[i];
    if (!st?.isFile()) continue;
    if (o.skip(candidates[i]!, st)) continue;
    paths.push(candidates[i]!);
    found.push(st);
  }
  counts.unprocessed = paths.length;
  counts.scan_time = (performance.now() - t0) / 1000;
  return { found: { paths, absolute: absolutePaths(paths), stats: found }, counts, named };
}

/**
 * The paths resolved (for the open-file check). The paths come from glob(), normalized: a relative
 * one is the working directory and the path, unless it climbs out with "..". resolve() for each
 * would ask for the working directory each time.
 */
function absolutePaths(paths: readonly string[]): string[] {
  const cwd = resolve(".");
  const prefix = cwd.endsWith(sep) ? cwd : cwd + sep;
  return paths.map((path) => (isAbsolute(path) ? path : path.startsWith("..") ? resolve(path) : prefix + path));
}

/** At a source's start: `-locked` files that no process holds open were left by a crash; they get their names back (to be read again). */
export async function recoverLockedFiles(patterns: readonly string[], log: Logger): Promise<void> {
  const locked: string[] = [];
  for (const pattern of patterns) for (const path of await glob(pattern + "-locked")) locked.push(path);
  if (locked.length === 0) return;
  const absolute = absolutePaths(locked);
  const held = filesHeldOpen(absolute, "any");
  for (let i = 0; i < locked.length; i++) {
    if (held.has(absolute[i]!)) continue;
    const path = locked[i]!;
    const original = path.slice(0, -"-locked".length);
    try {
      await rename(path, original);
      log.warn(`Recovered '${original}', left locked by an earlier run; it will be read again`);
    } catch (e) {
      log.warn(`Cannot recover locked file '${path}': ${toError(e).message}`);
    }
  }
}
