import { createWriteStream, type WriteStream } from "node:fs";
import { rename } from "node:fs/promises";
import avro from "avsc";
import { ConfigError, ReceiptTally, Sink, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { loadAvroSchema } from "./schema.js";

const CONFIG = {
  schema_file: { type: "string", default: "", doc: "Writer schema (.avsc)", required: true },
  file_name_template: { type: "string", default: "./sink{index}.avro", doc: "Output file name; {index} counts files" },
  events_per_file: { type: "int", default: 1000, doc: "Records per file before rotating (0 = no limit)" },
  events_per_chunk: { type: "int", default: 100, doc: "Records per Avro block" },
  rollover_mechanism: { type: "string", default: "none", choices: ["none", "chunks"], doc: "Accepted for compatibility; files rotate by events_per_file" },
  rotate_period: { type: "float", default: 0, doc: "Close the current file after this many seconds (0 = never)" },
  codec: { type: "string", default: "null", choices: ["null", "deflate"], doc: "Block compression" },
} satisfies ConfigSpec;

/**
 * Writes events as records of Avro container files (BSPump's AvroSink). A file is written as
 * `<name>-open` and renamed to its final name (`file_name_template` with `{index}`) when it is
 * complete: after `events_per_file` events, after `rotate_period` seconds, on `rotate()` and on stop.
 * Receipts are settled once the file is closed (its data reached the file system). A record that does
 * not match the schema throws (the pipeline's error rules decide) and is not written.
 * BSPump flushed after every event, so its rotation never triggered [BUG].
 */
export class AvroSink extends Sink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  override readonly settlesReceipts = true;
  readonly type: avro.Type;
  private readonly template: string;
  private readonly perFile: number;
  private readonly perChunk: number;
  private readonly rotatePeriod: number;
  private readonly codec: string;
  private encoder: avro.streams.BlockEncoder | null = null;
  private output: WriteStream | null = null;
  private path = "";
  private count = 0;
  private openedAt = 0;
  private index = 0;
  private tally = new ReceiptTally();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** Final names of the files written. */
  readonly files: string[] = [];

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const type = loadAvroSchema(this.config.getString("schema_file"), `[${this.config.section}] schema_file`);
    if (type === null) throw new ConfigError(`[${this.config.section}] AvroSink needs 'schema_file'`);
    this.type = type;
    this.template = this.config.getString("file_name_template");
    this.perFile = this.config.getInt("events_per_file");
    this.perChunk = Math.max(1, this.config.getInt("events_per_chunk"));
    this.rotatePeriod = this.config.getFloat("rotate_period");
    this.codec = this.config.getString("codec");
  }

  override start(): void {
    if (this.rotatePeriod > 0 && this.timer === null) {
      this.timer = setInterval(() => {
        if (this.encoder !== null && this.time() - this.openedAt >= this.rotatePeriod) void this.rotate();
      }, Math.min(1000, this.rotatePeriod * 1000));
      this.timer.unref();
    }
  }

  process(context: EventContext, event: unknown): null {
    const errors: string[] = [];
    if (!this.type.isValid(event, { errorHook: (path) => errors.push(path.join(".") || "(record)") })) {
      throw new TypeError(`Record does not match the Avro schema at ${errors.join(", ")}`);
    }
    if (this.encoder === null) this.openFile();
    this.encoder!.write(event);
    this.tally.add(context.receipt);
    if (this.perFile > 0 && ++this.count >= this.perFile) void this.rotate();
    return null;
  }

  private openFile(): void {
    this.path = this.template.replaceAll("{index}", String(this.index++));
    this.output = createWriteStream(this.path + "-open");
    this.encoder = new avro.streams.BlockEncoder(this.type, { codec: this.codec, blockSize: this.perChunk * 64 });
    this.encoder.pipe(this.output);
    this.count = 0;
    this.openedAt = this.time();
  }

  /** Closes the current file (renaming `-open` to the final name) and settles its events. */
  rotate(): Promise<void> {
    const encoder = this.encoder;
    const output = this.output;
    if (encoder === null || output === null) return this.chain;
    const path = this.path;
    const tally = this.tally.take();
    this.encoder = null;
    this.output = null;
    const closed = new Promise<void>((resolve, reject) => {
      output.on("close", resolve);
      output.on("error", reject);
      encoder.on("error", reject);
    });
    encoder.end();
    this.chain = this.chain.then(async () => {
      try {
        await closed;
        await rename(path + "-open", path);
        this.files.push(path);
        tally.settleAll();
      } catch (e) {
        this.pipeline.log.error(`${this.id}: writing '${path}' failed: ${toError(e).message}`);
        tally.failAll(toError(e));
      }
    });
    return this.chain;
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.rotate();
  }
}
