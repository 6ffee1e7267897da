import { constants, openSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { isLocalFilesystem } from "./openfiles.js";

/**
 * What the file sources' synchronous calls (`sync_io`) need: which folders are local, and turns for
 * the event loop between runs of synchronous calls.
 *
 * Why synchronous: per small file a source renames it (the lock), opens it, reads it and renames it
 * back (or deletes or moves it). Each of those through the thread pool costs a round trip (~60 µs
 * here) and the calls of one file cannot overlap (the lock comes first); on a local filesystem
 * each call itself takes 2–20 µs. Prefetching the next files through the pool instead was measured
 * no faster: renames in one folder take the folder's lock in the kernel, so pool threads renaming
 * at once mostly wait for each other (2,000 files, lock, read, rename back: renames through the
 * pool 0.23–0.28 s, ahead through the pool 0.14–0.20 s, all synchronous 0.17–0.19 s), and each
 * round trip costs the event loop more than the call it waits for. Measured again with the pump
 * (bench/NOTES.md, "F1: renames on the thread pool"): the renames back through the pool, or lock,
 * open and rename back on a worker thread of their own, made F1 5–25 % slower.
 */

/** Which folders lie on a local filesystem (statfs, once per folder until `clear`). */
export class LocalFolders {
  private readonly known = new Map<string, boolean>();

  /** The folder asked about last, and its answer: the files of a scan mostly share one. */
  private lastDir = "";
  private lastLocal = false;

  /** Whether the folder of `path` is local. */
  has(path: string): boolean {
    const dir = dirname(path);
    if (dir === this.lastDir) return this.lastLocal;
    let local = this.known.get(dir);
    if (local === undefined) {
      local = isLocalFilesystem(dir);
      this.known.set(dir, local);
    }
    this.lastDir = dir;
    this.lastLocal = local;
    return local;
  }

  /** Forgets what it knows (a folder may be mounted over): at each scan. */
  clear(): void {
    this.known.clear();
    this.lastDir = "";
  }
}

/** Longest run of synchronous work before timers, sockets and the web API get a turn. */
const SLICE_MS = 10;

/** Gives the event loop a turn once a run of synchronous calls took `SLICE_MS`. */
export class EventLoopTurns {
  private since = performance.now();

  /** Resolves at once, or after a turn of the event loop when one is due. */
  take(): Promise<void> | undefined {
    if (performance.now() - this.since < SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.since = performance.now();
        resolve();
      }),
    );
  }
}

/** Linux's O_NOATIME (0 elsewhere). */
const NOATIME = (constants as { O_NOATIME?: number }).O_NOATIME ?? 0;

/**
 * Opens a file to read it without updating its access time: after the rename that locks it, a read
 * would update it (relatime: the access time is older than the change time), one more metadata
 * write per file (~15 µs of a small file's ~60 µs here). The kernel allows O_NOATIME only on a file
 * the process owns (or as root); another's file is opened as usual.
 */
export function openSyncForReading(path: string, flags: number): number {
  if (NOATIME !== 0) {
    try {
      return openSync(path, flags | NOATIME);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
    }
  }
  return openSync(path, flags);
}

/** openSyncForReading, asynchronously. */
export async function openForReading(path: string, flags: number): Promise<FileHandle> {
  if (NOATIME !== 0) {
    try {
      return await open(path, flags | NOATIME);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
    }
  }
  return open(path, flags);
}
