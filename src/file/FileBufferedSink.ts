import { open, rename, stat, type FileHandle } from "node:fs/promises";
import {
  BatchingSink,
  ConfigError,
  type Application,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { exists } from "./glob.js";

const CONFIG = {
  path: { type: "string", default: "", doc: "Output file; may contain {index} and {timestamp} (used on rotation)", required: true },
  mode: { type: "string", default: "a", choices: ["a", "ab", "w", "wb"], doc: "a: append to an existing file; w: truncate it when first opened" },
  encoding: { type: "string", default: "utf-8", doc: "Text encoding of string output" },
  buffer_size: { type: "int", default: 1048576, doc: "Bytes buffered before a write" },
  flush_period: { type: "float", default: 1, doc: "Seconds after which a partly filled buffer is written (0 = only on size and stop)" },
  max_pending: { type: "int", default: 16777216, doc: "Bytes waiting to be written above which the pipeline is throttled" },
  rotate_size: { type: "int", default: 0, doc: "Rotate after the file reaches this many bytes (0 = never)" },
  rotate_period: { type: "float", default: 0, doc: "Rotate a file after it was open this many seconds (0 = never)" },
  fsync: { type: "bool", default: false, doc: "fsync after each write, before settling receipts" },
} satisfies ConfigSpec;

/**
 * Base of the file sinks: events are serialized (`serialize()`) into an in-memory buffer that is
 * written when it reaches `buffer_size`, `flush_period` seconds after its first event, and on stop
 * (the loop is BatchingSink's; writes go one at a time, in order). Delivery receipts
 * are settled after the write returned (the data reached the file system; with `fsync` also the
 * disk). The pipeline is throttled while more than `max_pending` bytes wait to be written.
 *
 * Rotation by size (`rotate_size`) or time (`rotate_period`), or by calling `rotate()`: the current
 * file is closed; when `path` has an `{index}` or `{timestamp}` placeholder the next file gets a new
 * name, otherwise the finished file is renamed to `<path>.<index>` and `path` starts afresh.
 */
export abstract class FileBufferedSink extends BatchingSink<Buffer[]> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly pathTemplate: string;
  readonly encoding: BufferEncoding;
  private readonly truncate: boolean;
  private readonly rotateSize: number;
  private readonly rotatePeriod: number;
  private readonly rotateCheck: number;
  private readonly fsync: boolean;

  private text = "";
  private parts: Buffer[] = [];
  private rotateTimer: NodeJS.Timeout | null = null;
  private handle: FileHandle | null = null;
  private currentPath = "";
  private openedAt = 0;
  private fileSize = 0;
  private index = 0;
  private firstOpen = true;
  /** Files finished by rotation (their final names). */
  readonly rotated: string[] = [];
  writeErrors = 0;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.pathTemplate = this.config.getString("path");
    const encoding = this.config.getString("encoding");
    if (!Buffer.isEncoding(encoding)) throw new ConfigError(`[${this.config.section}] key 'encoding': unknown encoding '${encoding}'`);
    this.encoding = encoding;
    this.truncate = this.config.getString("mode").startsWith("w");
    const bufferSize = Math.max(1, this.config.getInt("buffer_size"));
    const flushPeriod = this.config.getFloat("flush_period");
    this.rotateSize = this.config.getInt("rotate_size");
    this.rotatePeriod = this.config.getFloat("rotate_period");
    // The age of the open file is checked every flush_period (at most every rotate_period).
    this.rotateCheck = flushPeriod > 0 ? Math.min(flushPeriod, this.rotatePeriod) : this.rotatePeriod;
    this.fsync = this.config.getBool("fsync");
    this.batching({
      byteSize: bufferSize,
      period: flushPeriod > 0 ? flushPeriod : Infinity,
      pendingUnit: "size",
      maxPending: Math.max(bufferSize, this.config.getInt("max_pending")),
    });
  }

  /** The bytes or text for one event (include any separator). Throwing drops the event as an error. */
  protected abstract serialize(context: EventContext, event: unknown): string | Buffer;

  /** Written at the start of each new file (a CSV header); null for none. */
  protected fileHeader(): string | null {
    return null;
  }

  process(context: EventContext, event: unknown): null {
    const data = this.serialize(context, event);
    if (typeof data === "string") this.text += data;
    else {
      if (this.text.length > 0) this.moveText();
      this.parts.push(data);
    }
    this.added(context.receipt, data.length);
    return null;
  }

  private moveText(): void {
    this.parts.push(Buffer.from(this.text, this.encoding));
    this.text = "";
  }

  override start(): void {
    if (this.rotatePeriod > 0 && this.rotateTimer === null) {
      this.rotateTimer = setInterval(() => {
        if (this.handle !== null && this.time() - this.openedAt >= this.rotatePeriod) void this.rotate();
      }, this.rotateCheck * 1000);
      this.rotateTimer.unref();
    }
  }

  protected takeBatch(): Buffer[] {
    if (this.text.length > 0) this.moveText();
    const parts = this.parts;
    this.parts = [];
    return parts;
  }

  protected async send(batch: SentBatch<Buffer[]>): Promise<void> {
    const parts = batch.data;
    if (this.handle === null) await this.openFile();
    if (this.fileSize === 0) {
      const header = this.fileHeader();
      if (header !== null) parts.unshift(Buffer.from(header, this.encoding));
    }
    const handle = this.handle!;
    let written = 0;
    for (const p of parts) written += p.length;
    await writeAll(handle, parts);
    if (this.fsync) await handle.sync();
    this.fileSize += written;
    if (this.rotateSize > 0 && this.fileSize >= this.rotateSize) await this.closeFile(true);
  }

  /** A failed write fails the receipts of its events (the source will deliver them again); the sink goes on. */
  protected override sendFailed(batch: SentBatch<Buffer[]>, error: Error): void {
    this.writeErrors++;
    this.pipeline.log.error(`${this.id}: write to '${this.currentPath}' failed: ${error.message}`);
    batch.tally.failAll(error);
  }

  /** The name of the file being written (empty before the first write). */
  get currentFile(): string {
    return this.currentPath;
  }

  private fileName(): string {
    const ts = new Date(this.time() * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    return this.pathTemplate.replaceAll("{index}", String(this.index)).replaceAll("{timestamp}", ts);
  }

  private async openFile(): Promise<void> {
    this.currentPath = this.fileName();
    const truncate = this.truncate && this.firstOpen;
    this.firstOpen = false;
    this.handle = await open(this.currentPath, truncate ? "w" : "a");
    this.fileSize = truncate ? 0 : (await stat(this.currentPath)).size;
    this.openedAt = this.time();
  }

  private async closeFile(rotate: boolean): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    await handle.close();
    if (!rotate) return;
    const templated = this.pathTemplate.includes("{index}") || this.pathTemplate.includes("{timestamp}");
    this.index++;
    if (templated) this.rotated.push(this.currentPath);
    else {
      let target = `${this.currentPath}.${this.index}`;
      while (await exists(target)) target = `${this.currentPath}.${++this.index}`;
      await rename(this.currentPath, target);
      this.rotated.push(target);
    }
    this.fileSize = 0;
  }

  /** Writes what is buffered, then closes the current file; the next event starts a new one. */
  async rotate(): Promise<void> {
    void this.flush();
    await this.afterQueued(() => this.closeFile(true));
  }

  override async stop(): Promise<void> {
    if (this.rotateTimer !== null) clearInterval(this.rotateTimer);
    this.rotateTimer = null;
    void this.flush();
    await this.afterQueued(() => this.closeFile(false));
  }
}

async function writeAll(handle: FileHandle, parts: Buffer[]): Promise<void> {
  // writev may write less than asked; go on from where it stopped.
  let rest = parts;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i]!.length) skip -= rest[i++]!.length;
    rest = rest.slice(i);
    if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  }
}
