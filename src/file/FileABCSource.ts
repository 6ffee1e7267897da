import { constants, renameSync } from "node:fs";
import { mkdir, rename, stat, type FileHandle } from "node:fs/promises";
import type { FileEntry } from "./FileEntry.js";
import { FILE_SOURCE_CONFIG } from "./fileSourceConfig.js";
import { FilePostProcessor, type PostAction } from "./FilePostProcessor.js";
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
import { fileChunks, readSmallFile, type ScratchBuffer } from "./chunks.js";
import { fnmatchRegExp } from "./glob.js";
import { firstNotHeldOpen } from "./openfiles.js";
import { compactStats, recoverLockedFiles, sameChange, scanFiles, type FileStats, type ScannedFiles } from "./scan.js";
import { EventLoopTurns, LocalFolders, openForReading, openSyncForReading } from "./syncio.js";

export type { FileEntry, ScannedFiles };

const SUFFIXES = ["-locked", "-failed", "-processed"] as const;

/** Names read through a decompressor: never with synchronous calls (see `sync_io`). */
const COMPRESSED = /\.(gz|bz2|xz|lzma)$/i;


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
  readonly post: PostAction;
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
  /**
   * Files that could not be opened (path → identity with ctime): skipped until they change, so one
   * unreadable file neither blocks the files after it nor makes `files_per_cycle = 0` a busy loop.
   * ctime, not just mtime: a chmod that makes the file readable changes only the ctime.
   */
  private readonly unreadable = new Map<string, FileStats>();
  private readonly postProcessor: FilePostProcessor;
  private counts = { processed: 0, failed: 0, locked: 0, unprocessed: 0, all_files: 0, scan_time: 0 };
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
    this.post = this.config.getString("post") as PostAction;
    this.moveDestination = this.config.getString("move_destination");
    this.postProcessor = new FilePostProcessor(this.post, this.moveDestination, this.log, (file) =>
      this.pipeline.pubsub.publish("bspump.file_source.processed!", { pipeline: this.pipeline, source: this, filename: file.path }),
    );
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

  /**
   * Reads the file's content (`smallFile(file)` or `chunks(file)`) and hands its events over; each
   * event's context comes from `context(file)`. May finish synchronously (a small file read whole).
   */
  protected abstract read(file: FileEntry): void | Promise<void>;

  override async cycle(): Promise<void> {
    if (!this.recovered) {
      this.recovered = true;
      if (this.post === "move" && this.moveDestination) await mkdir(this.moveDestination, { recursive: true });
      await recoverLockedFiles(this.patterns, this.log);
    }
    let taken = 0;
    this.postProcessor.newCycle();
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
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        for (let skipped = next; skipped <= free; skipped++) this.bytesAhead -= found.stats[skipped]!.size;
        next = free + 1;
        // A file that could not be locked or opened is not counted: the next one is read instead.
        let done = this.processFile(found.paths[free]!, found.stats[free]!);
        if (done !== true && done !== false) done = await done;
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
        this.postProcessor.readUnchanged(path, st) || (this.unreadable.size > 0 && sameChange(this.unreadable.get(path), st)),
      skipName: (path) => this.postProcessor.readThisCycle(path),
      local: this.local,
      turns: this.turns,
    });
    // Forget unreadable files that are gone, so the map does not grow with a folder's history.
    if (this.unreadable.size > 0) for (const path of this.unreadable.keys()) if (!named.has(path)) this.unreadable.delete(path);
    this.counts = counts;
    return found;
  }

  /**
   * Locks, reads and hands over one file; false when it could not be locked or opened (nothing read).
   * A file that fits in one read, on a local filesystem, is locked, opened and read with synchronous
   * calls (see syncio.ts), and post-processed so once its events are settled (at once, when the
   * pipeline takes them synchronously). Bigger files stay asynchronous: their reads overlap the
   * processing of the chunks before.
   */
  private processFile(path: string, st: FileStats): boolean | Promise<boolean> {
    const sync = this.local !== null && st.size < this.readSize && !COMPRESSED.test(path) && this.local.has(path);
    if (!sync) return this.processFileAsync(path, st);
    const locked = path + "-locked";
    try {
      renameSync(path, locked);
    } catch (e) {
      return this.lockFailed(path, e);
    }
    let fd: number;
    try {
      fd = openSyncForReading(locked, this.openFlags);
    } catch (e) {
      return this.openFailed(path, locked, e);
    }
    return this.readFile(this.entry(path, locked, null, fd, st));
  }

  private async processFileAsync(path: string, st: FileStats): Promise<boolean> {
    const locked = path + "-locked";
    try {
      await rename(path, locked);
    } catch (e) {
      return this.lockFailed(path, e);
    }
    let handle: FileHandle;
    try {
      handle = await openForReading(locked, this.openFlags);
    } catch (e) {
      return this.openFailed(path, locked, e);
    }
    return this.readFile(this.entry(path, locked, handle, handle.fd, st));
  }

  /** O_NOFOLLOW unless links are followed: a file replaced by a link after the scan is not followed either. */
  private get openFlags(): number {
    return this.followSymlinks ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW;
  }

  private lockFailed(path: string, e: unknown): false {
    // Gone since the scan: another process (or worker) sharing the folder locked it first. Normal
    // when several share a folder, so counted, not warned about (thousands a minute otherwise).
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      this.filesTaken++;
      this.log.debug(`File '${path}' was taken by another process`);
    } else this.log.warn(`Cannot lock '${path}', will try again later: ${toError(e).message}`);
    return false;
  }

  private async openFailed(path: string, locked: string, e: unknown): Promise<false> {
    await rename(locked, path).catch(() => {});
    // The rename back changed the ctime: remember the file as it is now.
    const now = await stat(path).catch(() => null);
    if (now !== null) this.unreadable.set(path, compactStats(now));
    this.log.warn(`Cannot open '${path}', skipping it until it changes: ${toError(e).message}`);
    return false;
  }

  private entry(path: string, locked: string, handle: FileHandle | null, fd: number, st: FileStats): FileEntry {
    const file: FileEntry = {
      path,
      locked,
      handle,
      fd,
      receipt: new Receipt((r) => this.settled(file, r)),
      stats: st,
      position: 0,
      incomplete: false,
      readError: null,
      finished: false,
    };
    return file;
  }

  /** Reads the file (see `read`) and seals its receipt; true, or a promise of true. */
  private readFile(file: FileEntry): true | Promise<true> {
    this.inflight.add(file);
    this.reading = file;
    let reading: void | Promise<void>;
    try {
      reading = this.read(file);
    } catch (e) {
      return this.readDone(file, toError(e));
    }
    if (reading === undefined) return this.readDone(file, null);
    return reading.then(
      () => this.readDone(file, null),
      (e: unknown) => this.readDone(file, toError(e)),
    );
  }

  private readDone(file: FileEntry, error: Error | null): true {
    if (error !== null) {
      file.readError = error;
      this.log.error(`Failed to read '${file.path}': ${error.message}`);
    } else if (this.stopping) file.incomplete = true;
    this.reading = null;
    this.bytesRead += file.incomplete ? file.position : Math.max(file.position, file.stats.size);
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
    this.postProcessor.settled(file, receipt.error);
  }

  /** Files post-processed as `post` says, failed to read, and given back to be read again; for tests and the web API. */
  get filesDone(): number {
    return this.postProcessor.filesDone;
  }

  get filesFailed(): number {
    return this.postProcessor.filesFailed;
  }

  get filesRetried(): number {
    return this.postProcessor.filesRetried;
  }

  /** Files read but not settled yet. */
  get filesInFlight(): number {
    return this.inflight.size;
  }

  /** Bytes read of those known (read, being read, found by the last scan): a finite run's progress. */
  progress(): { read: number; total: number } {
    const read = this.bytesRead + (this.reading?.position ?? 0);
    return { read, total: Math.max(read, this.bytesRead + (this.reading?.stats.size ?? 0) + this.bytesAhead) };
  }

  /** Resolves when the post-processing of every settled file has run. */
  whenPostProcessed(): Promise<void> {
    return this.postProcessor.whenDone();
  }

  /** After the pipeline flushed: post-process what settled; give unsettled files their names back. */
  override async finalize(): Promise<void> {
    await this.whenPostProcessed();
    for (const file of [...this.inflight]) {
      file.finished = true;
      this.inflight.delete(file);
      await this.postProcessor.giveBack(file);
    }
  }

  /** The context of an event from `file` (at `line`, when known). */
  protected context(file: FileEntry): EventContext {
    return { filename: file.path, receipt: file.receipt };
  }

  /**
   * A small file opened with synchronous calls (see `processFile`), read whole in one synchronous
   * read; null for any other file, or one that grew since the scan: read those with `chunks()`.
   * `reuseBuffers` as for `chunks()`.
   */
  protected smallFile(file: FileEntry, reuseBuffers = false): Buffer | null {
    return file.handle === null ? readSmallFile(file, this.readSize, reuseBuffers ? this.scratch : null) : null;
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

export { SUFFIXES as FILE_SUFFIXES };
