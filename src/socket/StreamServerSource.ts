import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { ConfigError, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { describeAddress, formatPeer, parseAddresses, type SocketAddress } from "./address.js";
import { StringDecoder } from "node:string_decoder";
import { lineDecoder, nodeEncoding, type LineDecoder } from "./decode.js";
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

/**
 * A line server on TCP (optionally TLS) and UNIX sockets: every `\n`-terminated line of every client
 * becomes one event, in order per connection, with the connection's context. Reading stops (the
 * socket is paused, so TCP flow control pushes back on the client) while the pipeline is not ready.
 * Bytes left at the end of a connection are emitted as a final line. A `\r` before the `\n` is kept,
 * as in BSPump.
 *
 * BSPump: `bspump.ipc.StreamServerSource`, also `bspump.socket.TCPStreamSource` / `TCPSource`.
 */
export class StreamServerSource extends Source {
  static override ConfigDefaults: ConfigSpec = {
    address: { type: "string", default: "127.0.0.1 8888", doc: "Listen address(es), one per line: 'host port', 'host:port', 'port', or a UNIX socket path" },
    backlog: { type: "string", default: "", doc: "Listen backlog (empty: the OS default)" },
    decode: { type: "string", default: "utf-8", doc: "Codec of the lines; 'bytes' (or empty) emits Buffers" },
    max_line_length: { type: "int", default: 1048576, doc: "A line longer than this many bytes is emitted in pieces (counted as long_lines)" },
    ...TLS_CONFIG,
  };

  readonly addresses: SocketAddress[];
  private readonly decoder: LineDecoder;
  /** Set for UTF-8, Latin-1 and ASCII: chunks are decoded whole and lines sliced from the text. */
  private readonly textEncoding: BufferEncoding | null;
  private readonly backlog: number | undefined;
  private readonly maxLine: number;
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
    this.decoder = lineDecoder(this.config.getString("decode"), `[${this.config.section}] decode`);
    this.textEncoding = nodeEncoding(this.config.getString("decode"));
    const backlog = this.config.getString("backlog").trim();
    if (backlog !== "" && !/^\d+$/.test(backlog)) throw new ConfigError(`[${this.config.section}] backlog: expected an integer, got '${backlog}'`);
    this.backlog = backlog === "" ? undefined : Number(backlog);
    this.maxLine = Math.max(1, this.config.getInt("max_line_length"));
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
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        const opts = address.kind === "unix" ? { path: address.path } : { port: address.port, ...(address.host !== "" ? { host: address.host } : {}) };
        server.listen({ ...opts, ...(this.backlog !== undefined ? { backlog: this.backlog } : {}) }, () => {
          server.off("error", reject);
          resolve();
        });
      }).catch((e: unknown) => {
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
    if (this.textEncoding !== null) return this.serveText(socket, stream, type, peer, me, this.textEncoding);
    let rest: Buffer | null = null;
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        this.stats.bytes += chunk.length;
        let start = 0;
        let nl = chunk.indexOf(10);
        if (rest !== null) {
          if (nl < 0) {
            rest = Buffer.concat([rest, chunk]);
            if (rest.length > this.maxLine) {
              this.stats.long_lines++;
              const line = rest;
              rest = null;
              const r = this.emit(line, stream, type, peer, me);
              if (r !== true && !(await r)) return;
            }
            continue;
          }
          const line = Buffer.concat([rest, chunk.subarray(0, nl)]);
          rest = null;
          const r = this.emit(line, stream, type, peer, me);
          if (r !== true && !(await r)) return;
          start = nl + 1;
          nl = chunk.indexOf(10, start);
        }
        while (nl >= 0) {
          const r = this.emit(chunk.subarray(start, nl), stream, type, peer, me);
          if (r !== true && !(await r)) return;
          start = nl + 1;
          nl = chunk.indexOf(10, start);
        }
        if (start < chunk.length) {
          // Copy the tail so the whole chunk is not kept alive by a few bytes.
          rest = Buffer.from(chunk.subarray(start));
          if (rest.length > this.maxLine) {
            this.stats.long_lines++;
            const line = rest;
            rest = null;
            const r = this.emit(line, stream, type, peer, me);
            if (r !== true && !(await r)) return;
          }
        }
      }
      if (rest !== null && rest.length > 0) {
        const r = this.emit(rest, stream, type, peer, me);
        if (r !== true) await r;
      }
    } catch (e) {
      if (!this.stopping) this.log.debug(`Connection ${id} from ${peer || "unix"} failed: ${toError(e).message}`);
    } finally {
      this.clients.delete(socket);
      if (!socket.destroyed) socket.end();
    }
  }

  /** The text path: a chunk is decoded once and its lines are slices of that string. */
  private async serveText(socket: Socket, stream: SocketStream, type: StreamContext["stream_type"], peer: string, me: string, encoding: BufferEncoding): Promise<void> {
    const decoder = new StringDecoder(encoding);
    let rest = "";
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        this.stats.bytes += chunk.length;
        const text = rest.length === 0 ? decoder.write(chunk) : rest + decoder.write(chunk);
        let start = 0;
        let nl = text.indexOf("\n");
        while (nl >= 0) {
          const r = this.emit(text.slice(start, nl), stream, type, peer, me);
          if (r !== true && !(await r)) return;
          start = nl + 1;
          nl = text.indexOf("\n", start);
        }
        rest = start === 0 ? text : text.slice(start);
        if (rest.length > this.maxLine) {
          this.stats.long_lines++;
          const line = rest;
          rest = "";
          const r = this.emit(line, stream, type, peer, me);
          if (r !== true && !(await r)) return;
        }
      }
      rest += decoder.end();
      if (rest.length > 0) {
        const r = this.emit(rest, stream, type, peer, me);
        if (r !== true) await r;
      }
    } catch (e) {
      if (!this.stopping) this.log.debug(`Connection ${stream.id} from ${peer || "unix"} failed: ${toError(e).message}`);
    } finally {
      this.clients.delete(socket);
      if (!socket.destroyed) socket.end();
    }
  }

  /**
   * Hands one line over (bytes are decoded when an encoding is set; text is already decoded); false
   * when the source is stopping. Awaits only when the pipeline is not ready.
   */
  private emit(line: Buffer | string, stream: SocketStream, type: StreamContext["stream_type"], peer: string, me: string): true | Promise<boolean> {
    const go = this.whenReady();
    if (go !== true) return go.then((ok) => ok && this.emitNow(line, stream, type, peer, me));
    return this.emitNow(line, stream, type, peer, me);
  }

  private emitNow(line: Buffer | string, stream: SocketStream, type: StreamContext["stream_type"], peer: string, me: string): true {
    this.stats.lines++;
    const context: StreamContext = { stream_type: type, stream_dir: "in", stream_peer: peer, stream_me: me, stream_id: stream.id, stream };
    this.pipeline.process(typeof line === "string" || this.decoder === null ? line : this.decoder(line), context);
    return true;
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
