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
 * round trip costs the event loop more than the call it waits for.
 */

/** Which folders lie on a local filesystem (statfs, once per folder until `clear`). */
export class LocalFolders {
  private readonly known = new Map<string, boolean>();

  /** Whether the folder of `path` is local. */
  has(path: string): boolean {
    const dir = dirname(path);
    let local = this.known.get(dir);
    if (local === undefined) {
      local = isLocalFilesystem(dir);
      this.known.set(dir, local);
    }
    return local;
  }

  /** Forgets what it knows (a folder may be mounted over): at each scan. */
  clear(): void {
    this.known.clear();
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
