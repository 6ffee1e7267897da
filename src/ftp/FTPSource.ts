import { posix } from "node:path";
import { PassThrough } from "node:stream";
import type { Client as FtpClient } from "basic-ftp";
import { LineFramer, badInput, framingEncoding, isBytes, maxLineLengthKey, textCodec, type LineTarget, type TextCodec } from "../codec/index.js";
import { locateConnection, Receipt, toError, TriggerSource, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline, type TypedConfig } from "../core/index.js";
import { FTPConnection } from "./FTPConnection.js";

const CONFIG = {
  remote_path: { type: "string", default: "/", doc: "Remote folder whose files are read each cycle" },
  mode: { type: "string", default: "r", choices: ["r", "p"], doc: "r: read the files and leave them; p (pop): delete each file once all its events settled" },
  filename: { type: "string", default: "", doc: "Read only this file of remote_path; empty: every file of the folder (folders skipped)" },
  framing: { type: "string", default: "block", choices: ["block", "line"], doc: "block: each downloaded block is one bytes event (BSPump); line: one event per line" },
  encoding: { type: "encoding", default: "bytes", doc: "framing line: text encoding of the lines; bytes: Buffer lines" },
  max_line_length: maxLineLengthKey(16 * 1048576),
} satisfies ConfigSpec;

/** What the line framer passes back per file. */
interface FileRun {
  readonly context: EventContext;
  readonly codec: TextCodec | null;
}

/**
 * Reads the files of an FTP folder at each trigger (BSPump's FTPSource). A cycle logs in, lists
 * `remote_path` (or takes just `filename`), skips folders, downloads each file as a stream and
 * quits. `framing = block` (BSPump): each block the server sends is one Buffer event;
 * `framing = line`: the codec layer's LineFramer cuts the stream into lines (`encoding` decodes
 * them; an over-long line is bad input). The download follows the pipeline: while it is not ready
 * the socket is not read. Context: `filename` (the remote path) and `ftp.remote_path`.
 *
 * `mode = p` ("pop", declared but never implemented in BSPump, which deleted nothing): the file's
 * events carry a receipt, and the file is deleted on the server only when every event settled
 * (written by the sinks, or handled by the error rules); a failed event or a stop first leaves it
 * there, read again next cycle (at-least-once). A failed login is retried (FTPConnection); a
 * failed listing or download is a warning and ends the cycle, the next cycle tries again.
 */
export class FTPSource extends TriggerSource implements LineTarget<FileRun> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static override ConnectionClass = FTPConnection;

  readonly connection: FTPConnection;
  readonly remotePath: string;
  readonly pop: boolean;
  readonly filename: string;
  private readonly framer: LineFramer<FileRun> | null;
  private readonly lineCodec: TextCodec | null;
  private client: FtpClient | null = null;
  readonly stats = { cycles: 0, files: 0, blocks: 0, lines: 0, bytes: 0, deleted: 0, kept: 0, failures: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | FTPConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, FTPConnection);
    const c = this.config;
    this.remotePath = c.getString("remote_path") || "/";
    this.pop = c.getString("mode") === "p";
    this.filename = c.getString("filename");
    if (c.getString("framing") === "line") {
      const name = c.getString("encoding");
      const codec = isBytes(name, true) ? null : textCodec(name, c.where("encoding"));
      const encoding = framingEncoding(codec);
      // A codec Node cannot decode in pieces cut at 0x0a bytes decodes each Buffer line itself.
      this.lineCodec = encoding === null ? codec : null;
      this.framer = new LineFramer<FileRun>(this, { encoding, maxLength: c.getInt("max_line_length") });
    } else {
      this.framer = null;
      this.lineCodec = null;
    }
    app.metrics.addCollector(() => [{ name: "bspump.ftp.source", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats } }]);
  }

  async cycle(): Promise<void> {
    this.stats.cycles++;
    const client = await this.connection.open(() => this.stopping, this.untilStopped);
    if (client === null) return;
    this.client = client;
    try {
      const names = this.filename !== "" ? [this.filename] : (await client.list(this.remotePath)).filter((f) => f.isFile).map((f) => f.name);
      for (const name of names) {
        if (this.stopping || !(await this.readFile(client, posix.join(this.remotePath, name)))) break;
      }
    } catch (e) {
      if (!this.stopping) {
        this.stats.failures++;
        this.log.warn(`FTP cycle of '${this.id}' on ${this.connection.hostname}:${this.connection.port} ended early: ${toError(e).message}`);
      }
    } finally {
      this.client = null;
      client.close();
    }
  }

  /** Downloads one file into the pipeline; false when the source is stopping. */
  private async readFile(client: FtpClient, path: string): Promise<boolean> {
    let settled: Promise<Error | null> | null = null;
    let receipt: Receipt | undefined;
    if (this.pop) settled = new Promise((resolve) => (receipt = new Receipt((r) => resolve(r.error))));
    const context: EventContext = { filename: path, "ftp.remote_path": this.remotePath, ...(receipt ? { receipt } : {}) };
    const stream = new PassThrough({ highWaterMark: 65536 });
    const download = client.downloadTo(stream, path);
    download.catch((e: unknown) => stream.destroy(toError(e)));
    let complete: boolean;
    if (this.framer !== null) complete = await this.framer.frame(this.counted(stream), { context, codec: this.lineCodec });
    else complete = await this.blocks(stream, context);
    if (!complete) {
      // Stopping: the transfer is cut by closing the client (cycle's finally); the file stays.
      receipt?.seal();
      return false;
    }
    await download;
    this.stats.files++;
    if (receipt === undefined || settled === null) return true;
    receipt.seal();
    const error = await Promise.race([settled, this.untilStopped.then(() => undefined)]);
    if (error === undefined) return false;
    if (error !== null) {
      this.stats.kept++;
      this.log.warn(`FTP pop: '${path}' kept on the server, an event of it failed: ${error.message}`);
      return true;
    }
    await client.remove(path);
    this.stats.deleted++;
    return true;
  }

  private async blocks(stream: AsyncIterable<Buffer>, context: EventContext): Promise<boolean> {
    for await (const block of stream) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return false;
      this.stats.blocks++;
      this.stats.bytes += block.length;
      this.pipeline.process(block, context);
    }
    return true;
  }

  private async *counted(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      this.stats.bytes += chunk.length;
      yield chunk;
    }
  }

  /** A line of a file (LineTarget). */
  emitLine(line: string | Buffer, lineNo: number, run: FileRun): void {
    this.stats.lines++;
    const event = typeof line === "string" ? line : run.codec !== null ? run.codec.decode(line) : Buffer.from(line);
    this.pipeline.process(event, { ...run.context, line: lineNo });
  }

  /** A line over max_line_length (LineTarget): bad input, with its first bytes. */
  lineTooLong(lineNo: number, head: Buffer, length: number, run: FileRun): void {
    badInput(this.pipeline, this.log, this.id, { ...run.context, line: lineNo }, head, new Error(`line longer than max_line_length (${length} bytes)`));
  }

  /** Cuts a running transfer so that main() returns promptly. */
  protected override async onStop(): Promise<void> {
    await super.onStop();
    this.client?.close();
  }
}
