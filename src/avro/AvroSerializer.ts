import type avro from "avsc";
import { ConfigError, Generator, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { encodeContainer, loadAvroSchema } from "./schema.js";

interface Waiting {
  resolve: () => void;
  reject: (e: Error) => void;
}

const CONFIG = {
  schema_file: { type: "string", default: "", doc: "Writer schema (.avsc)", required: true },
  max_block_size: { type: "int", default: 10, doc: "Records per container" },
  flush_period: { type: "float", default: 1, doc: "Seconds after which a partial container is flushed" },
  codec: { type: "string", default: "null", choices: ["null", "deflate"], doc: "Block compression" },
} satisfies ConfigSpec;

/**
 * Collects records and, once it has `max_block_size` of them (or `flush_period` seconds passed),
 * encodes them into an Avro container (bytes) injected as one event (BSPump's AvroSerializer).
 * Each input event's receipt stays open until its container was handed on. A record that does not
 * match the schema throws (the pipeline's error rules decide) and is not added.
 * BSPump re-appended the last event on each tick [BUG]; here a timed flush only flushes.
 */
export class AvroSerializer extends Generator {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  readonly type: avro.Type;
  private readonly maxBlock: number;
  private readonly flushPeriod: number;
  private readonly codec: string;
  private records: unknown[] = [];
  private waiting: Waiting[] = [];
  private context: EventContext = {};
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const type = loadAvroSchema(this.config.getString("schema_file"), `[${this.config.section}] schema_file`);
    if (type === null) throw new ConfigError(`[${this.config.section}] AvroSerializer needs 'schema_file'`);
    this.type = type;
    this.maxBlock = Math.max(1, this.config.getInt("max_block_size"));
    this.flushPeriod = this.config.getFloat("flush_period");
    this.codec = this.config.getString("codec");
    // The pipeline waits for in-flight generators before stopping processors: flush at once from then on.
    pipeline.pubsub.subscribe("bspump.pipeline.stop!", () => {
      this.stopping = true;
      void this.flush();
    });
    pipeline.pubsub.subscribe("bspump.pipeline.start!", () => {
      this.stopping = false;
    });
  }

  override start(): void {
    if (this.flushPeriod > 0 && this.timer === null) {
      this.timer = setInterval(() => void this.flush(), this.flushPeriod * 1000);
      this.timer.unref();
    }
  }

  generate(context: EventContext, event: unknown, _depth: number): Promise<void> {
    const errors: string[] = [];
    if (!this.type.isValid(event, { errorHook: (path) => errors.push(path.join(".") || "(record)") })) {
      throw new TypeError(`Record does not match the Avro schema at ${errors.join(", ")}`);
    }
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.records.push(event);
    this.context = context;
    if (this.records.length >= this.maxBlock || this.stopping) void this.flush();
    return done;
  }

  /** Encodes and injects what is collected. */
  async flush(): Promise<void> {
    if (this.records.length === 0) return;
    const records = this.records;
    const waiting = this.waiting;
    const context = this.context;
    this.records = [];
    this.waiting = [];
    try {
      const container = await encodeContainer(this.type, records, this.codec);
      // The container carries the receipt of the batch's last input event (still open here), so a
      // file source's receipt settles only once the container is written; the other inputs settle
      // when it was handed over.
      this.pipeline.inject(context, container, this.depth);
      for (const w of waiting) w.resolve();
    } catch (e) {
      for (const w of waiting) w.reject(toError(e));
    }
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
