import type { FileHandle } from "node:fs/promises";
import type { Receipt } from "../core/index.js";
import type { FileStats } from "./scan.js";

/** A file being read: locked (renamed to `-locked`), open until its events are settled. */
export interface FileEntry {
  /** The original name: what goes into the events' context as `filename`. */
  readonly path: string;
  readonly locked: string;
  /** The open file; null when it is read with synchronous calls (`sync_io`): then only `fd`. */
  readonly handle: FileHandle | null;
  /** The file's descriptor (`handle.fd`, or the one opened synchronously). */
  readonly fd: number;
  readonly receipt: Receipt;
  /** Its stat() at the scan: what identifies its content (post=noop remembers it); its size (it may still grow) sizes the read buffers of a small file. */
  readonly stats: FileStats;
  /** Bytes of the file on disk read so far (compressed bytes for `.gz`/`.bz2`/`.xz`): progress. */
  position: number;
  /** Set when reading stopped before the end (stop requested, or the pipeline in error): the file is not done. */
  incomplete: boolean;
  readError: Error | null;
  finished: boolean;
}
