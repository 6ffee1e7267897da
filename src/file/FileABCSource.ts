import { closeSync, constants, renameSync, unlinkSync } from "node:fs";
import { mkdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
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
} from "../core/index.js";
import { textCodec, type TextCodec } from "../codec/text.js";
import { fileChunks, type ScratchBuffer } from "./chunks.js";
import { fnmatchRegExp, glob } from "./glob.js";
import { filesHeldOpen, firstNotHeldOpen } from "./openfiles.js";
import { scanFiles, type FileStats, type ScannedFiles } from "./scan.js";
import { EventLoopTurns, LocalFolders, openForReading, openSyncForReading } from "./syncio.js";

export type { ScannedFiles };

const SUFFIXES = ["-locked", "-failed", "-processed"] as const;

/** Names read through a decompressor: never with synchronous calls (see `sync_io`). */
const COMPRESSED = /\.(gz|bz2|xz|lzma)$/i;

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
  readonly key: string;
  /** Bytes when it was opened (it may still grow): sizes the read buffers of a small file. */
  readonly size: number;
  /** Bytes of the file on disk read so far (compressed bytes for `.gz`/`.bz2`/`.xz`): progress. */
  position: number;
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
  /** With `sync_io`: which folders are local (small files there are handled with synchronous calls). */
  private readonly local: LocalFolders | null;
  private readonly turns = new EventLoopTurns();
  private readonly scratch: ScratchBuffer = { buffer: null };
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
  /** progress(): bytes of the files read, and of those the last scan found not read yet. */
  private bytesRead = 0;
  private bytesAhead = 0;
  /** Files gone between the scan and their lock: taken by another process sharing the folder. */
  filesTaken = 0;

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
    this.local = this.config.getBool("sync_io") ? new LocalFolders() : null;
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
      this.bytesAhead = found.stats.reduce((sum, st) => sum + st.size, 0);
      let takenThisScan = 0;
      for (let next = 0; next < found.paths.length && this.wantsMoreFiles(taken); ) {
        const free = this.checkOpen ? firstNotHeldOpen(found.absolute, "write", next) : next;
        if (free < 0) break;
        if (!(await this.waitReady())) return;
        for (let skipped = next; skipped <= free; skipped++) this.bytesAhead -= found.stats[skipped]!.size;
        next = free + 1;
        // A file that could not be locked or opened is not counted: the next one is read instead.
        const done = await this.processFile(found.paths[free]!, found.stats[free]!);
        // Synchronous calls do not let timers and sockets in: they get a turn every few ms.
        const turn = this.turns.take();
        if (turn) await turn;
        if (!done) continue;
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
    const { found, counts, named } = await scanFiles({
      patterns: this.patterns,
      include: this.include,
      exclude: this.exclude,
      followSymlinks: this.followSymlinks,
      skip: (path, st) =>
        (this.done.size > 0 && this.done.get(path) === identity(st)) || (this.unreadable.size > 0 && this.unreadable.get(path) === changeIdentity(st)),
      local: this.local,
      turns: this.turns,
    });
    // Forget unreadable files that are gone, so the map does not grow with a folder's history.
    if (this.unreadable.size > 0) for (const path of this.unreadable.keys()) if (!named.has(path)) this.unreadable.delete(path);
    this.counts = counts;
    return found;
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
    // A file that fits in one read, on a local filesystem: locked, opened and read with synchronous
    // calls (see syncio.ts); its post-processing too. Bigger files stay asynchronous: their reads
    // overlap the processing of the chunks before.
    const sync = this.local !== null && st.size < this.readSize && !COMPRESSED.test(path) && this.local.has(path);
    try {
      if (sync) renameSync(path, locked);
      else await rename(path, locked);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Gone since the scan: another process (or worker) sharing the folder locked it first. Normal
      // when several share a folder, so counted, not warned about (thousands a minute otherwise).
      if (code === "ENOENT") {
        this.filesTaken++;
        this.log.debug(`File '${path}' was taken by another process`);
      }
      else this.log.warn(`Cannot lock '${path}', will try again later: ${toError(e).message}`);
      return false;
    }
    let handle: FileHandle | null = null;
    let fd: number;
    try {
      // O_NOFOLLOW: a file replaced by a link after the scan is not followed either.
      const flags = this.followSymlinks ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW;
      if (sync) fd = openSyncForReading(locked, flags);
      else fd = (handle = await openForReading(locked, flags)).fd;
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
      fd,
      receipt: new Receipt((r) => this.settled(file, r)),
      key: identity(st),
      size: st.size,
      position: 0,
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
      this.bytesRead += file.incomplete ? file.position : Math.max(file.position, file.size);
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
    await closeFile(file);
    // A file read with synchronous calls is renamed (or deleted) the same way: a failure throws
    // here as the asynchronous call rejects.
    const mv = file.handle === null ? renameSync : rename;
    if (file.readError !== null) {
      this.filesFailed++;
      await mv(file.locked, this.post === "noop" ? file.path : file.path + "-failed");
      if (this.post === "noop") this.done.set(file.path, file.key);
      return;
    }
    if (deliveryError !== null || file.incomplete) {
      // Not done: give the file its name back, so it is read again.
      this.filesRetried++;
      if (deliveryError) this.log.warn(`Events of '${file.path}' were not delivered (${deliveryError.message}); the file will be read again`);
      await mv(file.locked, file.path);
      return;
    }
    this.filesDone++;
    switch (this.post) {
      case "delete":
        await (file.handle === null ? unlinkSync : unlink)(file.locked);
        break;
      case "noop":
        await mv(file.locked, file.path);
        this.done.set(file.path, file.key);
        break;
      case "move":
        await mv(file.locked, this.moveDestination ? join(this.moveDestination, basename(file.path) + "-processed") : file.path + "-processed");
        break;
    }
    this.pipeline.pubsub.publish("bspump.file_source.processed!", { pipeline: this.pipeline, source: this, filename: file.path });
  }

  /** Files read but not settled yet. */
  get filesInFlight(): number {
    return this.inflight.size;
  }

  /** Bytes read of those known (read, being read, found by the last scan): a finite run's progress. */
  progress(): { read: number; total: number } {
    const read = this.bytesRead + (this.reading?.position ?? 0);
    return { read, total: Math.max(read, this.bytesRead + (this.reading?.size ?? 0) + this.bytesAhead) };
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
      await closeFile(file);
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
    return fileChunks(file, this.readSize, this.readAhead, reuseBuffers, this.scratch);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), files: { ...this.counts, in_flight: this.inflight.size, taken_by_others: this.filesTaken } };
  }
}

/** Closes the file, however it was opened; a failure to close is no reason to keep it locked. */
function closeFile(file: FileEntry): Promise<void> | void {
  if (file.handle !== null) return file.handle.close().catch(() => {});
  try {
    closeSync(file.fd);
  } catch {
    // already closed: nothing held
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
