import { randomInt } from "node:crypto";
import { posix } from "node:path";
import {
  BatchingSink,
  ConfigError,
  locateConnection,
  ProcessingError,
  RetryableError,
  type Application,
  type ComponentOptions,
  type ConfigSpec,
  type EventContext,
  type Pipeline,
  type SentBatch,
  type TypedConfig,
} from "../core/index.js";
import { SSHConnection, SSHError } from "./SSHConnection.js";

/** One event as it is written: where, what. */
interface Upload {
  path: string;
  data: Buffer;
  event: unknown;
}

const CONFIG = {
  remote_path: { type: "string", default: "/upload/", doc: "Remote folder of the files (context 'ssh.remote' overrides it)" },
  prefix: { type: "string", default: "prefix", doc: "Start of the generated file name (when filename is empty)" },
  filename: { type: "string", default: "hostname", doc: "File name (context 'ssh.filename' overrides it); empty: prefix + Unix time + random number + suffix, made once per run" },
  suffix: { type: "string", default: "suffix", doc: "End of the generated file name (when filename is empty)" },
  mode: { type: "string", default: "a", choices: ["a", "w"], doc: "a: append to the file; w: write it anew (replacing it)" },
  encoding: { type: "encoding", default: "utf-8", doc: "How string events become bytes" },
  output_queue_max_size: { type: "int", default: 1000, doc: "Events waiting to be written above which the pipeline is throttled", min: 1 },
} satisfies ConfigSpec;

/**
 * Writes each event to a file over SFTP (BSPump's SFTPSink). A string is encoded (`encoding`), a
 * Buffer written as it is, anything else is an error of that event. The file is
 * `context['ssh.remote'] || remote_path` joined with `context['ssh.filename'] || filename` (a
 * path join: BSPump concatenated the two, so a remote_path without its trailing "/" glued the
 * names together [BUG]). An empty `filename` is replaced, at the first event, by `prefix` + Unix
 * time in seconds + a random number 1…1000 + `suffix`, used for the rest of the run (BSPump's
 * name and rule). `mode = a` appends, `mode = w` replaces; a replaced file counts in the
 * `sink.rewritefile` metric (`times`), as in BSPump.
 *
 * Events are written one at a time, in order, through the BatchingSink loop: up to
 * `output_queue_max_size` wait before the pipeline is throttled (BSPump's queue of 1000). No
 * connection (server down, wrong password) is retried with backoff, the pipeline throttled
 * meanwhile, up to the connection's `max_retries`, then the event fails by the pipeline's error
 * rules; so does at once a write the server refuses (no such folder, no permission). Receipts
 * settle when the server confirmed the write.
 */
export class SFTPSink extends BatchingSink<Upload> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static override ConnectionClass = SSHConnection;

  readonly connection: SSHConnection;
  private readonly remotePath: string;
  private readonly prefix: string;
  private filename: string;
  private readonly suffix: string;
  private readonly append: boolean;
  private readonly encoding: BufferEncoding;
  private open: Upload | null = null;
  readonly rewrites = { times: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | SSHConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, SSHConnection);
    const c = this.config;
    this.remotePath = c.getString("remote_path");
    this.prefix = c.getString("prefix");
    this.filename = c.getString("filename");
    this.suffix = c.getString("suffix");
    this.append = c.getString("mode") === "a";
    const encoding = c.getString("encoding").toLowerCase().replace("-", "");
    if (!Buffer.isEncoding(encoding)) throw new ConfigError(`${c.where("encoding")}: '${c.getString("encoding")}' cannot encode text (use utf-8, latin1, ascii, utf-16le)`);
    this.encoding = encoding;
    this.batching({ count: 1, period: 0, pendingUnit: "events", maxPending: c.getInt("output_queue_max_size"), ...this.connection.retryPolicy });
    app.metrics.addCollector(() => [{ name: "sink.rewritefile", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.rewrites } }]);
  }

  process(context: EventContext, event: unknown): null {
    let data: Buffer;
    if (typeof event === "string") data = Buffer.from(event, this.encoding);
    else if (Buffer.isBuffer(event)) data = event;
    else if (event instanceof Uint8Array) data = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else throw new ProcessingError(`${this.id}: SFTPSink writes strings and bytes, not ${event === null ? "null" : typeof event}`);
    const remote = typeof context["ssh.remote"] === "string" && context["ssh.remote"] !== "" ? context["ssh.remote"] : this.remotePath;
    let given = typeof context["ssh.filename"] === "string" && context["ssh.filename"] !== "" ? context["ssh.filename"] : this.filename;
    if (given === "") given = this.filename = this.generatedName();
    this.open = { path: posix.join(remote, given), data, event };
    this.added(context.receipt, data.length);
    return null;
  }

  /** BSPump's generated name: prefix + Unix seconds + a random 1…1000 + suffix (the empty filename adds nothing between). */
  private generatedName(): string {
    return `${this.prefix}${Math.floor(Date.now() / 1000)}${randomInt(1, 1001)}${this.suffix}`;
  }

  protected takeBatch(): Upload {
    const upload = this.open!;
    this.open = null;
    return upload;
  }

  protected async send(batch: SentBatch<Upload>, _attempt: number): Promise<void> {
    const { path, data } = batch.data;
    try {
      const { overwrote } = await this.connection.write(path, data, this.append);
      if (overwrote) this.rewrites.times++;
    } catch (e) {
      if (e instanceof SSHError && e.transient) throw new RetryableError(e.message);
      throw e;
    }
  }

  /** A write the server refused goes through the pipeline's failure path with its event. */
  protected override sendFailed(batch: SentBatch<Upload>, error: Error): void {
    this.batchFailed(batch.tally, batch.data.event, error);
  }
}
