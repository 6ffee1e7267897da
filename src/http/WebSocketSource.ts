import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { listen, Source, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type WorkerSharing } from "../core/index.js";
import { badInput } from "../codec/badInput.js";
import { textCodec, type TextCodec } from "../codec/text.js";
import { parseListen, webSocketUrl } from "./util.js";

/** The context of every message (BSPump's `type` and `request`, plus the socket to reply on). */
export interface WebSocketContext extends EventContext {
  /** "text" or "binary": the frame type (BSPump: aiohttp's `msg.type`). */
  type: "text" | "binary";
  /** The upgrade request (server mode); null in client mode. */
  request: IncomingMessage | null;
  /** The socket the message came from: `send()` replies on it. */
  websocket: WebSocket;
  "websocket.id": number;
  "websocket.remote": string;
}

/** One open socket, and what it holds while the pipeline is not ready. */
interface Peer {
  readonly ws: WebSocket;
  readonly id: number;
  readonly request: IncomingMessage | null;
  readonly remote: string;
  /** Messages the socket had already read when it was paused: handed over, in order, when ready. */
  readonly held: [RawData, boolean][];
  waiting: boolean;
}

/** The ws error codes of input the peer got wrong (too big, bad UTF-8, bad framing): bad input, not a failure of ours. */
const PROTOCOL_ERROR = /^WS_ERR_/;

const CONFIG = {
  mode: { type: "string", default: "server", choices: ["server", "client"], doc: "server: accept connections on `listen`; client: connect to `url`" },
  listen: { type: "string", default: "127.0.0.1 8081", doc: "Server mode: address of the source's own HTTP server ('host port'; port 0: any free port); empty: no server, mount handleUpgrade() yourself" },
  path: { type: "string", default: "/", doc: "Server mode: the URL path upgraded to a WebSocket (other paths get 404); empty: any path" },
  url: { type: "string", default: "ws://localhost:8081/", doc: "Client mode: the server to connect to (ws://, wss://, http://, https://)" },
  reconnect_delay: { type: "float", default: 5, doc: "Client mode: seconds between connection attempts" },
  max_message_size: { type: "int", default: 4194304, doc: "Largest message in bytes; a larger one is bad input and closes its socket with 1009" },
} satisfies ConfigSpec;

/**
 * Every TEXT frame (as a string) and BINARY frame (as a Buffer) of WebSocket connections becomes
 * one event. In `server` mode the source runs its own HTTP server on `listen` and upgrades the
 * requests for `path` (`handleUpgrade()` mounts it in a server of your own); in `client` mode it
 * connects to `url` and reconnects after `reconnect_delay` seconds when the connection is lost.
 *
 * Back-pressure: while the pipeline is not ready (throttled, in error) every socket is paused, so
 * its TCP window closes and the sender's `bufferedAmount` grows, not the pump's memory; the few
 * messages already read when it paused are held and handed over first when the pipeline is ready.
 * A message over `max_message_size` bytes, invalid UTF-8 in a text frame or a protocol error is
 * bad input (a counted warning, the dead-letter target); the socket is closed with the code the
 * protocol names (1009 "message too big", 1007, 1002). WebSocket has no acknowledgement, so
 * messages the source had not handed over when it stops are lost to the sender.
 *
 * BSPump: `bspump.http.web.WebSocketSource` (an aiohttp handler the user mounts; server only).
 */
export class WebSocketSource extends Source {
  // Single: in client mode every worker would connect to the same server and get every message.
  static override WorkerSharing: WorkerSharing = "single";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly mode: "server" | "client";
  private readonly host: string | null;
  private readonly requestedPort: number;
  readonly path: string;
  readonly url: string;
  private readonly reconnectDelay: number;
  private readonly maxMessageSize: number;
  private readonly utf8: TextCodec;
  private readonly wss: WebSocketServer;
  private server: Server | null = null;
  private readonly peers = new Set<Peer>();
  private counter = 0;
  readonly stats = { connections: 0, messages: 0, bytes: 0, bad_input: 0, pauses: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.mode = this.config.getString("mode") as "server" | "client";
    const listen = this.config.getString("listen").trim();
    if (this.mode === "client" || listen === "") {
      this.host = null;
      this.requestedPort = 0;
    } else {
      const { host, port } = parseListen(listen, `[${this.config.section}] listen`);
      this.host = host;
      this.requestedPort = port;
    }
    this.path = this.config.getString("path");
    this.url = this.mode === "client" ? webSocketUrl(this.config.getString("url"), `[${this.config.section}] url`) : this.config.getString("url");
    this.reconnectDelay = Math.max(0.01, this.config.getFloat("reconnect_delay"));
    this.maxMessageSize = Math.max(1, this.config.getInt("max_message_size"));
    this.utf8 = textCodec("utf-8", `[${this.config.section}]`);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxMessageSize });
    app.metrics.addCollector(() => [{ name: "bspump.http.websocket", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats, open: this.peers.size } }]);
  }

  /** The port of the source's server (after start; useful with port 0). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === "object" ? (a as AddressInfo).port : 0;
  }

  /** Sockets open now. */
  get connectionCount(): number {
    return this.peers.size;
  }

  /** Messages read from sockets but not handed over yet (held while the pipeline is not ready). */
  get heldMessages(): number {
    let n = 0;
    for (const p of this.peers) n += p.held.length;
    return n;
  }

  async main(): Promise<void> {
    if (this.mode === "client") return this.runClient();
    if (this.host !== null) {
      const server = createServer((_req, res) => {
        res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket" });
        res.end("WebSocket only\n");
      });
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
      await listen(server, { port: this.requestedPort, host: this.host });
      this.server = server;
      this.log.info(`Listening on ws://${this.host}:${this.port}${this.path}`);
    }
    await this.untilStopped;
  }

  /** Upgrades one request (the `upgrade` event of a node:http server) when its path is ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (this.stopping || (this.path !== "" && path !== this.path)) {
      socket.end(`HTTP/1.1 ${this.stopping ? "503 Service Unavailable" : "404 Not Found"}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    socket.on("error", () => {}); // a reset during the handshake is the client's business
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, req, req.socket.remoteAddress ?? ""));
  }

  /** Client mode: connect, read until the connection ends, wait `reconnect_delay`, again. */
  private async runClient(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (!(await this.waitReady())) return;
      const ws = new WebSocket(this.url, { maxPayload: this.maxMessageSize });
      ws.on("error", () => {}); // reported below (connecting) or by attach() (connected)
      const opened = await new Promise<Error | null>((resolve) => {
        // Attached in the 'open' callback itself: the first messages may follow on the next tick.
        ws.once("open", () => {
          this.attach(ws, null, this.url);
          resolve(null);
        });
        ws.once("error", (e) => resolve(e));
        void this.untilStopped.then(() => resolve(new Error("stopping")));
      });
      if (opened === null) {
        if (failures > 0) this.log.info(`Connected to ${this.url} after ${failures} failed attempts`);
        else this.log.info(`Connected to ${this.url}`);
        failures = 0;
        const closed = new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once("close", () => resolve())));
        await Promise.race([closed, this.untilStopped]);
        if (!this.stopping) this.log.warn(`Connection to ${this.url} closed; reconnecting in ${this.reconnectDelay} s`);
      } else {
        ws.terminate();
        if (this.stopping) return;
        // The first failure of a series is a warning; the rest (every reconnect_delay) only debug.
        if (failures++ === 0) this.log.warn(`Cannot connect to ${this.url}: ${opened.message}; retrying every ${this.reconnectDelay} s`);
        else this.log.debug(`Cannot connect to ${this.url}: ${opened.message}`);
      }
      if (!(await this.sleep(this.reconnectDelay))) return;
    }
  }

  private attach(ws: WebSocket, request: IncomingMessage | null, remote: string): void {
    if (this.stopping) {
      ws.close(1001);
      return;
    }
    const peer: Peer = { ws, id: ++this.counter, request, remote, held: [], waiting: false };
    this.peers.add(peer);
    this.stats.connections++;
    ws.on("message", (data, isBinary) => this.received(peer, data, isBinary));
    ws.on("error", (e) => this.failed(peer, e));
    ws.on("close", () => this.peers.delete(peer));
  }

  private received(peer: Peer, data: RawData, isBinary: boolean): void {
    if (peer.waiting) {
      // Read before the pause took effect: kept, in order, for when the pipeline is ready.
      peer.held.push([data, isBinary]);
      return;
    }
    const go = this.whenReady();
    if (go === true) {
      this.emit(peer, data, isBinary);
      return;
    }
    peer.waiting = true;
    peer.held.push([data, isBinary]);
    peer.ws.pause();
    this.stats.pauses++;
    void this.resumeWhenReady(peer, go);
  }

  /** Hands over what the paused socket holds as the pipeline allows, then reads again. */
  private async resumeWhenReady(peer: Peer, go: Promise<boolean>): Promise<void> {
    if (!(await go)) return; // stopping: onStop closes the socket
    while (peer.held.length > 0) {
      const next = this.whenReady();
      if (next !== true && !(await next)) return;
      const [data, isBinary] = peer.held.shift()!;
      this.emit(peer, data, isBinary);
    }
    peer.waiting = false;
    peer.ws.resume();
  }

  private emit(peer: Peer, data: RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    this.stats.messages++;
    this.stats.bytes += bytes.length;
    const context: WebSocketContext = {
      type: isBinary ? "binary" : "text",
      request: peer.request,
      websocket: peer.ws,
      "websocket.id": peer.id,
      "websocket.remote": peer.remote,
    };
    this.pipeline.process(isBinary ? bytes : this.utf8.decode(bytes), context);
  }

  private failed(peer: Peer, e: Error): void {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (!PROTOCOL_ERROR.test(code)) {
      if (!this.stopping) this.log.debug(`Socket ${peer.id} (${peer.remote}) failed: ${e.message}`);
      return;
    }
    // ws closes the socket itself (1009 for a message over maxPayload, 1007, 1002).
    this.stats.bad_input++;
    const context: WebSocketContext = { type: "binary", request: peer.request, websocket: peer.ws, "websocket.id": peer.id, "websocket.remote": peer.remote };
    badInput(this.pipeline, this.log, this.id, context, null, new Error(`WebSocket ${peer.remote}: ${e.message} (${code}); connection closed`));
  }

  protected override async onStop(): Promise<void> {
    this.server?.close();
    for (const peer of this.peers) peer.ws.close(1001, "source stopping");
    const deadline = Date.now() + 1000;
    while (this.peers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const peer of this.peers) peer.ws.terminate();
    this.peers.clear();
    this.server?.closeAllConnections();
    this.server = null;
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Mode: this.mode, Open: this.peers.size, Held: this.heldMessages };
  }
}

