import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { ConfigError, listen, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type WorkerSharing } from "../core/index.js";
import { badInput } from "../codec/badInput.js";
import { LineFramer, framingEncoding, maxLineLengthKey, type LineFramingOptions, type LineTarget } from "../codec/lines.js";
import { isBytes, textCodec, type TextCodec } from "../codec/text.js";
import { describeAddress, formatPeer, parseAddresses, type SocketAddress } from "./address.js";
import { serverTlsOptions, TLS_CONFIG } from "./tls.js";

/** What `context.stream` holds: the connection the line came from, to reply on. */
export class SocketStream {
  constructor(
    readonly socket: Socket,
    readonly id: number,
  ) {}

  /** Writes a reply to the client; false when the socket's buffer is full (or the socket is gone). */
  send(data: Buffer | Uint8Array | string): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  close(): void {
    this.socket.end();
  }
}

/** The context of every line from one connection (BSPump's keys, plus `stream_id`). */
export interface StreamContext extends EventContext {
  stream_type: "AF_INET" | "AF_INET6" | "AF_UNIX";
  stream_dir: "in";
  stream_peer: string;
  stream_me: string;
  stream_id: number;
  stream: SocketStream;
}

/** One client connection: what each of its lines' context holds. */
interface Connection {
  readonly stream: SocketStream;
  readonly type: StreamContext["stream_type"];
  readonly peer: string;
  readonly me: string;
}

const CONFIG = {
  address: { type: "string", default: "127.0.0.1 8888", doc: "Listen address(es), one per line: 'host port', 'host:port', 'port', or a UNIX socket path" },
  backlog: { type: "string", default: "", doc: "Listen backlog (empty: the OS default)" },
  decode: { type: "encoding", default: "utf-8", doc: "Codec of the lines; 'bytes' (or empty) emits Buffers" },
  max_line_length: maxLineLengthKey(1048576),
  ...TLS_CONFIG,
} satisfies ConfigSpec;

/**
 * A line server on TCP (optionally TLS) and UNIX sockets: every `\n`-terminated line of every client
 * becomes one event, in order per connection, with the connection's context. Reading stops (the
 * socket is paused, so TCP flow control pushes back on the client) while the pipeline is not ready.
 * Bytes left at the end of a connection are emitted as a final line. A `\r` before the `\n` is kept,
 * as in BSPump. Lines are framed by the codec layer (src/codec/lines.ts): empty lines are events, and
 * a line over `max_line_length` bytes is bad input (counted as long_lines; a warning, the dead-letter
 * target), dropped up to its end.
 *
 * BSPump: `bspump.ipc.StreamServerSource`, also `bspump.socket.TCPStreamSource` / `TCPSource`.
 */
export class StreamServerSource extends Source implements LineTarget<Connection> {
  // node:cluster workers share one listening socket.
  static override WorkerSharing: WorkerSharing = "shared";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly addresses: SocketAddress[];
  /** How lines are framed: as text when Node decodes the encoding and a 0x0a byte is always a line end. */
  private readonly framing: LineFramingOptions;
  /** Decodes each line's bytes when the framer cannot (WHATWG-only encodings); null otherwise. */
  private readonly lineCodec: TextCodec | null;
  private readonly backlog: number | undefined;
  private readonly servers: Server[] = [];
  private readonly clients = new Set<Socket>();
  private readonly unixPaths: string[] = [];
  private streamCounter = 0;
  /** Where the servers listen (with the real port when the configured one was 0). */
  readonly listening: string[] = [];
  readonly stats = { connections: 0, lines: 0, bytes: 0, long_lines: 0, tls_errors: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const where = `[${this.config.section}] address`;
    this.addresses = parseAddresses(this.config.getString("address"), where);
    const decode = this.config.getString("decode");
    const codec = isBytes(decode, true) ? null : textCodec(decode, `[${this.config.section}] key 'decode'`);
    const encoding = framingEncoding(codec);
    this.lineCodec = encoding === null ? codec : null;
    this.framing = { encoding, maxLength: this.config.getInt("max_line_length"), keepCR: true, readyEvery: 1 };
    const backlog = this.config.getString("backlog").trim();
    if (backlog !== "" && !/^\d+$/.test(backlog)) throw new ConfigError(`[${this.config.section}] backlog: expected an integer, got '${backlog}'`);
    this.backlog = backlog === "" ? undefined : Number(backlog);
    app.metrics.addCollector(() => [{ name: "bspump.socket.server", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats, clients: this.clients.size } }]);
  }

  /** The TCP port of the first INET listener (useful with port 0). */
  get port(): number {
    for (const s of this.servers) {
      const a = s.address();
      if (a !== null && typeof a === "object") return (a as AddressInfo).port;
    }
    return 0;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async main(): Promise<void> {
    await this.listen();
    await this.untilStopped;
  }

  private async listen(): Promise<void> {
    const tlsOptions = serverTlsOptions(this.config);
    for (const address of this.addresses) {
      if (address.kind === "unix" && !this.prepareUnixPath(address.path)) continue;
      const onSocket = (socket: Socket) => void this.serve(socket, address);
      const server = tlsOptions ? createTlsServer(tlsOptions, onSocket) : createServer(onSocket);
      if (tlsOptions) {
        server.on("tlsClientError", (e: Error) => {
          this.stats.tls_errors++;
          this.log.warn(`TLS handshake failed: ${e.message}`);
        });
      }
      const opts = address.kind === "unix" ? { path: address.path } : { port: address.port, ...(address.host !== "" ? { host: address.host } : {}) };
      await listen(server, { ...opts, ...(this.backlog !== undefined ? { backlog: this.backlog } : {}) }).catch((e: unknown) => {
        throw new Error(`Cannot listen on ${describeAddress(address)}: ${toError(e).message}`);
      });
      server.on("error", (e) => this.log.error(`Server error on ${describeAddress(address)}: ${e.message}`));
      this.servers.push(server);
      if (address.kind === "unix") this.unixPaths.push(address.path);
      const a = server.address();
      this.listening.push(typeof a === "string" ? a : a ? formatPeer(a.address, a.port) : describeAddress(address));
      this.log.info(`Listening on ${this.listening.at(-1)}${tlsOptions ? " (TLS)" : ""}`);
    }
  }

  /** Unlinks a stale socket file; skips (false) a path taken by something else. */
  private prepareUnixPath(path: string): boolean {
    if (!existsSync(path)) return true;
    if (lstatSync(path).isSocket()) {
      unlinkSync(path);
      return true;
    }
    this.log.warn(`Cannot listen on '${path}': it exists and is not a socket`);
    return false;
  }

  private async serve(socket: Socket, address: SocketAddress): Promise<void> {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.clients.add(socket);
    this.stats.connections++;
    const id = ++this.streamCounter;
    const stream = new SocketStream(socket, id);
    const unix = address.kind === "unix";
    const type = unix ? "AF_UNIX" : socket.remoteFamily === "IPv6" ? "AF_INET6" : "AF_INET";
    const peer = unix ? "" : formatPeer(socket.remoteAddress, socket.remotePort);
    const me = unix ? address.path : formatPeer(socket.localAddress, socket.localPort);
    const connection: Connection = { stream, type, peer, me };
    try {
      await new LineFramer<Connection>(this, this.framing).frame(this.counted(socket), connection);
    } catch (e) {
      if (!this.stopping) this.log.debug(`Connection ${id} from ${peer || "unix"} failed: ${toError(e).message}`);
    } finally {
      this.clients.delete(socket);
      if (!socket.destroyed) socket.end();
    }
  }

  private async *counted(socket: Socket): AsyncGenerator<Buffer> {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      this.stats.bytes += chunk.length;
      yield chunk;
    }
  }

  /** One line of a connection (LineTarget): decoded when an encoding is set and the framer did not. */
  emitLine(line: string | Buffer, _lineNo: number, connection: Connection): void {
    this.stats.lines++;
    const { stream, type, peer, me } = connection;
    const context: StreamContext = { stream_type: type, stream_dir: "in", stream_peer: peer, stream_me: me, stream_id: stream.id, stream };
    this.pipeline.process(this.lineCodec === null || typeof line === "string" ? line : this.lineCodec.decode(line), context);
  }

  /** A line over max_line_length (LineTarget): bad input, with its first bytes. */
  lineTooLong(_lineNo: number, head: Buffer, length: number, connection: Connection): void {
    this.stats.long_lines++;
    const { stream, type, peer, me } = connection;
    const context: StreamContext = { stream_type: type, stream_dir: "in", stream_peer: peer, stream_me: me, stream_id: stream.id, stream };
    badInput(this.pipeline, this.log, this.id, context, head, new Error(`line longer than max_line_length (${length} > ${this.framing.maxLength} bytes) from ${peer || me}`));
  }

  protected override async onStop(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    await Promise.all(closing);
    this.servers.length = 0;
    for (const path of this.unixPaths.splice(0)) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}

/** BSPump's `bspump.socket.TCPStreamSource`. */
export class TCPStreamSource extends StreamServerSource {}

/** BSPump's `bspump.socket.TCPSource` (the same line server). */
export class TCPSource extends StreamServerSource {}
