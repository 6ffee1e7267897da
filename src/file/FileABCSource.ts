import { constants } from "node:fs";
import { open, lstat, mkdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { FILE_SOURCE_CONFIG } from "./fileSourceConfig.js";
import {
  Receipt,
  TriggerSource,
  toError,
  type Application,
  type ConfigSpec, type TypedConfig,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type WorkerSharing,
  inWorkerOrder,
  workerShare,
} from "../core/index.js";
import { textCodec, type TextCodec } from "../codec/text.js";
import { fileChunks } from "./chunks.js";
import { fnmatchRegExp, glob } from "./glob.js";
import { filesHeldOpen, firstNotHeldOpen } from "./openfiles.js";

/** Files stat()ed at once while scanning. */
const STAT_BATCH = 128;

const SUFFIXES = ["-locked", "-failed", "-processed"] as const;

/** What identifies a file's content for post=noop (and sizes its reads). */
type FileStats = { size: number; mtimeMs: number; ctimeMs: number; ino: number };

/** What a scan found: paths in order, the same resolved, and their stat(). */
export interface ScannedFiles {
  paths: string[];
  absolute: string[];
  stats: FileStats[];
}

/** A file being read: locked (renamed to `-locked`), open until its events are settled. */
export interface FileEntry {
  /** The original name: what goes into the events' context as `filename`. */
  readonly path: string;
  readonly locked: string;
  readonly handle: FileHandle;
  readonly receipt: Receipt;
  readonly key: string;
  /** Bytes when it was opened (it may still grow): sizes the read buffers of a small file. */
  readonly size: number;
  /** Set when reading stopped before the end (stop requested, or the pipeline in error): the file is not done. */
  incomplete: boolean;
  readError: Error | null;
  finished: boolean;
}


/**
 * Base of the file sources (BSPump's FileABCSource). Each trigger cycle scans the `path` glob(s),
 * takes the first file in sorted order (up to `files_per_cycle`), locks it by renaming it to
 * `<name>-locked`, reads it (transparently decompressing `.gz`, `.bz2`, `.xz`) and hands its events
 * over with `{filename, receipt}` in the context. One delivery Receipt per file: post-processing
 * (`move`, `delete`, `noop`) runs only once every event of the file is settled. A file whose events
 * failed downstream, or whose read was interrupted by a stop, gets its original name back and is read
 * again; a file that cannot be read (corrupt gzip) becomes `<name>-failed`; a file that cannot be
 * opened (permissions) is skipped with one warning until it changes, and the next file is read. At start, `-locked` files
 * that no process holds open (left by a crash) get their original names back and are read again.
 */
export abstract class FileABCSource extends TriggerSource {
  // The `-locked` rename makes a file taken by one worker invisible to the others.
  static override WorkerSharing: WorkerSharing = "shared";
  static override ConfigDefaults: ConfigSpec = FILE_SOURCE_CONFIG;
  declare readonly config: TypedConfig<typeof FILE_SOURCE_CONFIG>;

  readonly patterns: string[];
  readonly mode: "r" | "rb";
  /** The text encoding, when Node decodes it natively ("utf8" otherwise: then `codec` decodes). */
  readonly encoding: BufferEncoding;
  readonly codec: TextCodec;
  readonly post: "move" | "delete" | "noop";
  readonly moveDestination: string;
  readonly readSize: number;
  readonly readAhead: number;
  readonly filesPerCycle: number;
  private readonly include: RegExp | null;
  private readonly exclude: RegExp | null;
  private readonly checkOpen: boolean;
  private readonly followSymlinks: boolean;
  private recovered = false;
  private readonly inflight = new Set<FileEntry>();
  /** The file being read (one at a time): what a readiness check during an error gives up. */
  private reading: FileEntry | null = null;
  /** With post=noop: files already read (path → identity), so they are not read again and again. */
  private readonly done = new Map<string, string>();
  /**
   * Files that could not be opened (path → identity with ctime): skipped until they change, so one
   * unreadable file neither blocks the files after it nor makes `files_per_cycle = 0` a busy loop.
   * ctime, not just mtime: a chmod that makes the file readable changes only the ctime.
   */
  private readonly unreadable = new Map<string, string>();
  private postChain: Promise<void> = Promise.resolve();
  private counts = { processed: 0, failed: 0, locked: 0, unprocessed: 0, all_files: 0, scan_time: 0 };
  /** Files whose post-processing ran (settled) and files given back for retry; for tests and the web API. */
  filesDone = 0;
  filesRetried = 0;
  filesFailed = 0;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.patterns = this.config
      .getString("path")
      .split(/[\n:]/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const mode = this.config.getString("mode");
    this.mode = mode === "rb" ? "rb" : "r";
    this.codec = textCodec(this.config.getString("encoding"), `[${this.config.section}] key 'encoding'`);
    this.encoding = this.codec.node ?? "utf8";
    this.post = this.config.getString("post") as "move" | "delete" | "noop";
    this.moveDestination = this.config.getString("move_destination");
    this.readSize = Math.max(4096, this.config.getInt("read_size"));
    this.readAhead = Math.max(1, this.config.getInt("read_ahead"));
    this.filesPerCycle = this.config.getInt("files_per_cycle");
    this.followSymlinks = this.config.getBool("follow_symlinks");
    const include = this.config.getString("include");
    const exclude = this.config.getString("exclude");
    this.include = include === "" ? null : fnmatchRegExp(include);
    this.exclude = exclude === "" ? null : fnmatchRegExp(exclude);
    this.checkOpen = this.config.getBool("check_open");
    app.metrics.addCollector(() => [
      { name: "file_count", type: "gauge", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.counts } },
    ]);
  }

  /** Reads the file's content (`chunks(file)`) and hands its events over; each event's context comes from `context(file)`. */
  protected abstract read(file: FileEntry): Promise<void>;

  override async cycle(): Promise<void> {
    if (!this.recovered) {
      this.recovered = true;
      if (this.post === "move" && this.moveDestination) await mkdir(this.moveDestination, { recursive: true });
      await this.recoverLocked();
    }
    let taken = 0;
    // One scan serves every file it found, in order; the next scan (for files that arrived in the
    // meantime) comes when they are used up. Scanning again for each file made a folder of n files
    // cost n full scans: 2,000 small files took 130 s.
    while (this.wantsMoreFiles(taken)) {
      const found = await this.scan();
      let takenThisScan = 0;
      for (let next = 0; next < found.paths.length && this.wantsMoreFiles(taken); ) {
        const free = this.checkOpen ? firstNotHeldOpen(found.absolute, "write", next) : next;
        if (free < 0) break;
        if (!(await this.waitReady())) return;
        next = free + 1;
        // A file that could not be locked or opened is not counted: the next one is read instead.
        if (!(await this.processFile(found.paths[free]!, found.stats[free]!))) continue;
        taken++;
        takenThisScan++;
      }
      if (takenThisScan === 0) {
        this.pipeline.pubsub.publish("bspump.file_source.no_files!", { pipeline: this.pipeline, source: this });
        return;
      }
    }
  }

  private wantsMoreFiles(taken: number): boolean {
    return !this.stopping && !this.pipeline.isError() && (this.filesPerCycle <= 0 || taken < this.filesPerCycle);
  }

  /**
   * The files to read, in sorted order (patterns in the order given): regular files, not `-locked`,
   * `-failed` or `-processed`, passing include/exclude, not already read (post=noop). `absolute`
   * holds the same paths resolved, for the open-file check; `stats` their stat() (the rename that
   * locks a file keeps it: no second stat per file). Updates the `file_count` metric.
   */
  protected async scan(): Promise<ScannedFiles> {
    const t0 = performance.now();
    const counts = { processed: 0, failed: 0, locked: 0, unprocessed: 0, all_files: 0, scan_time: 0 };
    const named = new Set<string>();
    for (const pattern of this.patterns) {
      for (const path of await glob(pattern)) {
        counts.all_files++;
        if (path.endsWith("-locked")) counts.locked++;
        else if (path.endsWith("-failed")) counts.failed++;
        else if (path.endsWith("-processed")) counts.processed++;
        else if (this.exclude?.test(path) || (this.include && !this.include.test(path))) continue;
        else named.add(path);
      }
    }
    const paths: string[] = [];
    const found: FileStats[] = [];
    // Worker processes share the folder: each starts at its own place in it (fewer lost races).
    const candidates = inWorkerOrder([...named]);
    // stat() in batches: awaited one by one, each waits its own turn on the thread pool (~30 µs).
    for (let from = 0; from < candidates.length; from += STAT_BATCH) {
      const batch = candidates.slice(from, from + STAT_BATCH);
      // Without following links, a link is not a regular file to lstat(): skipped.
      const stats = await Promise.all(batch.map((path) => (this.followSymlinks ? stat : lstat)(path).catch(() => null)));
      for (let i = 0; i < batch.length; i++) {
        const st = stats[i];
        if (!st?.isFile()) continue;
        if (this.done.size > 0 && this.done.get(batch[i]!) === identity(st)) continue;
        if (this.unreadable.size > 0 && this.unreadable.get(batch[i]!) === changeIdentity(st)) continue;
        paths.push(batch[i]!);
        found.push(st);
      }
    }
    // Forget unreadable files that are gone, so the map does not grow with a folder's history.
    if (this.unreadable.size > 0) for (const path of this.unreadable.keys()) if (!named.has(path)) this.unreadable.delete(path);
    counts.unprocessed = paths.length;
    counts.scan_time = (performance.now() - t0) / 1000;
    this.counts = counts;
    return { paths, absolute: paths.map((path) => resolve(path)), stats: found };
  }

  /** At start: `-locked` files that no process holds open were left by a crash; give them their names back. */
  private async recoverLocked(): Promise<void> {
    const locked: string[] = [];
    for (const pattern of this.patterns) for (const path of await glob(pattern + "-locked")) locked.push(path);
    if (locked.length === 0) return;
    const held = filesHeldOpen(locked.map((p) => resolve(p)), "any");
    for (const path of locked) {
      if (held.has(resolve(path))) continue;
      const original = path.slice(0, -"-locked".length);
      try {
        await rename(path, original);
        this.log.warn(`Recovered '${original}', left locked by an earlier run; it will be read again`);
      } catch (e) {
        this.log.warn(`Cannot recover locked file '${path}': ${toError(e).message}`);
      }
    }
  }

  /** Locks, reads and hands over one file; false when it could not be locked or opened (nothing read). */
  private async processFile(path: string, st: FileStats): Promise<boolean> {
    const locked = path + "-locked";
    try {
      await rename(path, locked);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Between worker processes of one pump that is how they share a folder, not news.
      if (code === "ENOENT") this.log[workerShare() === null ? "warn" : "debug"](`File '${path}' was taken by another process`);
      else this.log.warn(`Cannot lock '${path}', will try again later: ${toError(e).message}`);
      return false;
    }
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a file replaced by a link after the scan is not followed either.
      handle = await open(locked, this.followSymlinks ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      await rename(locked, path).catch(() => {});
      // The rename back changed the ctime: remember the file as it is now.
      const now = await stat(path).catch(() => null);
      if (now !== null) this.unreadable.set(path, changeIdentity(now));
      this.log.warn(`Cannot open '${path}', skipping it until it changes: ${toError(e).message}`);
      return false;
    }
    const file: FileEntry = {
      path,
      locked,
      handle,
      receipt: new Receipt((r) => this.settled(file, r)),
      key: identity(st),
      size: st.size,
      incomplete: false,
      readError: null,
      finished: false,
    };
    this.inflight.add(file);
    this.reading = file;
    try {
      await this.read(file);
      if (this.stopping) file.incomplete = true;
    } catch (e) {
      file.readError = toError(e);
      this.log.error(`Failed to read '${path}': ${file.readError.message}`);
    } finally {
      this.reading = null;
    }
    file.receipt.seal();
    return true;
  }

  /**
   * As Source.whenReady, but while a file is read and the pipeline is in error, the rest of the file
   * is not handed over (false: the reader stops). The file is given its name back and read again
   * once the error is cleared (its receipt failed, or it is incomplete); waiting instead and going on
   * after the clear handed the rest over twice, and events handed over meanwhile would only fail.
   */
  override whenReady(): true | Promise<boolean> {
    const go = super.whenReady();
    if (go === true || this.reading === null || !this.pipeline.isError()) return go;
    this.reading.incomplete = true;
    return Promise.resolve(false);
  }

  private settled(file: FileEntry, receipt: Receipt): void {
    if (file.finished) return;
    file.finished = true;
    this.inflight.delete(file);
    this.postChain = this.postChain.then(() => this.postProcess(file, receipt.error)).catch((e: unknown) => {
      this.log.error(`Post-processing of '${file.path}' failed: ${toError(e).message}`);
    });
  }

  private async postProcess(file: FileEntry, deliveryError: Error | null): Promise<void> {
    await file.handle.close().catch(() => {});
    if (file.readError !== null) {
      this.filesFailed++;
      await rename(file.locked, this.post === "noop" ? file.path : file.path + "-failed");
      if (this.post === "noop") this.done.set(file.path, file.key);
      return;
    }
    if (deliveryError !== null || file.incomplete) {
      // Not done: give the file its name back, so it is read again.
      this.filesRetried++;
      if (deliveryError) this.log.warn(`Events of '${file.path}' were not delivered (${deliveryError.message}); the file will be read again`);
      await rename(file.locked, file.path);
      return;
    }
    this.filesDone++;
    switch (this.post) {
      case "delete":
        await unlink(file.locked);
        break;
      case "noop":
        await rename(file.locked, file.path);
        this.done.set(file.path, file.key);
        break;
      case "move":
        await rename(file.locked, this.moveDestination ? join(this.moveDestination, basename(file.path) + "-processed") : file.path + "-processed");
        break;
    }
    this.pipeline.pubsub.publish("bspump.file_source.processed!", { pipeline: this.pipeline, source: this, filename: file.path });
  }

  /** Files read but not settled yet. */
  get filesInFlight(): number {
    return this.inflight.size;
  }

  /** Resolves when the post-processing of every settled file has run. */
  async whenPostProcessed(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.postChain;
      await chain;
    } while (chain !== this.postChain);
  }

  /** After the pipeline flushed: post-process what settled; give unsettled files their names back. */
  override async finalize(): Promise<void> {
    await this.whenPostProcessed();
    for (const file of [...this.inflight]) {
      file.finished = true;
      this.inflight.delete(file);
      this.filesRetried++;
      await file.handle.close().catch(() => {});
      await rename(file.locked, file.path).catch((e: unknown) => this.log.error(`Cannot unlock '${file.locked}': ${toError(e).message}`));
      this.log.warn(`'${file.path}' was not fully delivered before stop; it will be read again`);
    }
  }

  /** The context of an event from `file` (at `line`, when known). */
  protected context(file: FileEntry): EventContext {
    return { filename: file.path, receipt: file.receipt };
  }

  /** Public access to `chunks()` for helpers. */
  chunksOf(file: FileEntry): AsyncIterable<Buffer> {
    return this.chunks(file);
  }

  /**
   * The file's content as Buffers of about `read_size` bytes, decompressed by the name's suffix.
   * With `reuseBuffers`, plain files are read into a ring of buffers: only for a caller that keeps
   * nothing from a chunk past the next one (less memory churn at high rates).
   */
  protected chunks(file: FileEntry, reuseBuffers = false): AsyncIterable<Buffer> {
    return fileChunks(file, this.readSize, this.readAhead, reuseBuffers);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), files: { ...this.counts, in_flight: this.inflight.size } };
  }
}

function identity(st: FileStats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** identity() and the ctime: also changes with a file's mode or owner. */
function changeIdentity(st: FileStats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

export { SUFFIXES as FILE_SUFFIXES };
