import { WebSocket } from "ws";
import {
  BatchingSink,
  ProcessingError,
  RetryableError,
  ThrottleSwitch,
  type Application,
  type ComponentOptions,
  type ConfigSpec,
  type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { Waiters } from "../core/waiters.js";
import { webSocketUrl } from "./util.js";

/** One frame: bytes go as a binary frame, text as a text frame. */
type Frame = Buffer | string;

const CONFIG = {
  url: { type: "string", default: "https://localhost:8081/", doc: "The WebSocket server (ws://, wss://, http://, https://)" },
  output_queue_max_size: { type: "int", default: 100, doc: "Messages waiting to be sent above which the pipeline is throttled (released at half)" },
  reconnect_delay: { type: "float", default: 5, doc: "Seconds between connection attempts" },
  heartbeat: { type: "float", default: 30, doc: "Seconds between pings; a peer that did not answer the previous one is dropped (0: no pings)" },
  stop_timeout: { type: "float", default: 5, doc: "Seconds the sink waits on stop for a connection to send what it holds; then those events fail" },
} satisfies ConfigSpec;

/**
 * Sends every event as one WebSocket message to `url`: a Buffer (or any Uint8Array) as a binary
 * frame, a string as a text frame, anything else JSON-encoded as a text frame. It connects when the
 * pipeline starts and reconnects every `reconnect_delay` seconds while the connection is down; the
 * pipeline is throttled until it is up (as in BSPump). Messages the server sends are counted and
 * logged at debug level only. A ping every `heartbeat` seconds finds a dead peer (no pong by the
 * next ping: the connection is dropped and made again).
 *
 * Delivery receipts settle after `ws` called back for the message (written to the socket). A
 * connection lost while a batch was being written sends the whole batch again once reconnected
 * (at least once, in order). Events still unsent when the sink stops and no connection came up
 * within `stop_timeout` fail through the pipeline's error rules, never silently.
 *
 * BSPump: `bspump.http.HTTPClientWebSocketSink` (its queue of `output_queue_max_size` is the
 * backlog above which the pipeline is throttled here).
 */
export class HTTPClientWebSocketSink extends BatchingSink<Frame[]> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly url: string;
  private readonly reconnectDelay: number;
  private readonly heartbeat: number;
  private readonly stopTimeout: number;
  private frames: Frame[] = [];
  private ws: WebSocket | null = null;
  private open = false;
  private running = false;
  private stopDeadline = Infinity;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly connected = new Waiters();
  /** Throttles the pipeline while there is no connection (a key of its own beside the backlog's). */
  private readonly down = new ThrottleSwitch(this.pipeline, { sink: this, reason: "not connected" });
  readonly stats = { sent: 0, bytes: 0, connects: 0, disconnects: 0, resent_batches: 0, received: 0, failed: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.url = webSocketUrl(this.config.getString("url"), `[${this.config.section}] url`);
    this.reconnectDelay = Math.max(0.01, this.config.getFloat("reconnect_delay"));
    this.heartbeat = Math.max(0, this.config.getFloat("heartbeat"));
    this.stopTimeout = Math.max(0, this.config.getFloat("stop_timeout"));
    const max = Math.max(1, this.config.getInt("output_queue_max_size"));
    // A batch is what one turn of the event loop brought (period 0), at most a queue's worth.
    this.batching({ count: max, period: 0, pendingUnit: "events", maxPending: max, retries: Infinity, retryDelay: 0, maxRetryDelay: 0 });
    app.metrics.addCollector(() => [{ name: "bspump.http.websocket.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.stats, connected: this.open ? 1 : 0 } }]);
  }

  get isConnected(): boolean {
    return this.open;
  }

  override start(): void {
    this.running = true;
    this.stopDeadline = Infinity;
    this.down.set(true);
    this.connect();
  }

  process(context: EventContext, event: unknown): null {
    let frame: Frame;
    if (Buffer.isBuffer(event) || typeof event === "string") frame = event;
    else if (event instanceof Uint8Array) frame = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else {
      const text = JSON.stringify(event);
      if (text === undefined) throw new TypeError(`${this.id}: the event cannot be encoded as JSON`);
      frame = text;
    }
    this.frames.push(frame);
    this.added(context.receipt, 1);
    return null;
  }

  protected takeBatch(): Frame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }

  /** Writes the batch on the open connection (waiting for one); resolves once ws called back for every message. */
  protected async send(batch: SentBatch<Frame[]>, attempt: number): Promise<void> {
    if (attempt > 0) this.stats.resent_batches++;
    const ws = await this.connection();
    if (ws === null) throw new ProcessingError(`${this.id}: no connection to ${this.url} within stop_timeout (${this.stopTimeout} s); ${batch.events} messages not sent`);
    const frames = batch.data;
    await new Promise<void>((resolve, reject) => {
      let left = frames.length;
      let over = false;
      // A socket that closes before every callback ran fails the batch too (it is sent again).
      const onClose = (): void => done(new Error("connection closed"));
      const done = (error?: Error): void => {
        if (over) return;
        if (error) {
          over = true;
          ws.off("close", onClose);
          reject(new RetryableError(`${this.id}: sending to ${this.url} failed: ${error.message}`));
        } else if (--left === 0) {
          over = true;
          ws.off("close", onClose);
          resolve();
        }
      };
      ws.once("close", onClose);
      for (const frame of frames) ws.send(frame, { binary: typeof frame !== "string" }, done);
    });
    this.stats.sent += frames.length;
    for (const frame of frames) this.stats.bytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
  }

  protected override sendFailed(batch: SentBatch<Frame[]>, error: Error): void {
    this.stats.failed += batch.events;
    super.sendFailed(batch, error);
  }

  /** The open socket, once there is one; null when the sink is stopping and none came up in time. */
  private async connection(): Promise<WebSocket | null> {
    while (!this.open || this.ws === null) {
      const left = this.stopDeadline - Date.now();
      if (left <= 0) return null;
      let timer: NodeJS.Timeout | undefined;
      const wait = this.connected.wait();
      if (left !== Infinity) await Promise.race([wait, new Promise((r) => (timer = setTimeout(r, Math.min(left, 2 ** 31 - 1))))]);
      else await wait;
      clearTimeout(timer);
    }
    return this.ws;
  }

  private connect(): void {
    if (!this.running || this.ws !== null) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let alive = true;
    ws.on("open", () => {
      if (ws !== this.ws) return;
      this.open = true;
      this.stats.connects++;
      this.pipeline.log.info(`${this.id}: connected to ${this.url}${this.failures > 0 ? ` after ${this.failures} failed attempts` : ""}`);
      this.failures = 0;
      this.down.set(false);
      if (this.heartbeat > 0) {
        this.heartbeatTimer = setInterval(() => {
          if (!alive) return ws.terminate();
          alive = false;
          ws.ping();
        }, this.heartbeat * 1000);
        this.heartbeatTimer.unref();
      }
      this.connected.wakeAll();
    });
    ws.on("pong", () => (alive = true));
    ws.on("message", (data) => {
      this.stats.received++;
      this.pipeline.log.debug(`${this.id}: message from ${this.url} (${Array.isArray(data) ? data.length : (data as Buffer).byteLength} bytes) ignored`);
    });
    ws.on("error", (e) => {
      // The first failure of a series is a warning; the retries every reconnect_delay only debug.
      if (!this.open && this.failures++ === 0) this.pipeline.log.warn(`${this.id}: cannot connect to ${this.url}: ${e.message}; retrying every ${this.reconnectDelay} s`);
      else this.pipeline.log.debug(`${this.id}: ${this.url}: ${e.message}`);
    });
    ws.on("close", () => this.closed(ws));
  }

  private closed(ws: WebSocket): void {
    if (ws !== this.ws) return;
    if (this.open) {
      this.stats.disconnects++;
      if (this.running) this.pipeline.log.warn(`${this.id}: connection to ${this.url} lost; reconnecting in ${this.reconnectDelay} s`);
    }
    this.open = false;
    this.ws = null;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (!this.running) return;
    this.down.set(true);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, this.reconnectDelay * 1000);
  }

  /** Sends what is buffered (waiting up to `stop_timeout` for a connection), then closes the socket. */
  override async stop(): Promise<void> {
    this.stopDeadline = Date.now() + this.stopTimeout * 1000;
    this.connected.wakeAll(); // the waiting send sees the deadline
    await super.stop();
    this.running = false;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    if (ws !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (ws.terminate(), resolve()), 1000);
        ws.once("close", () => (clearTimeout(timer), resolve()));
        ws.close(1000);
      });
    }
    this.ws = null;
    this.open = false;
    this.down.set(false);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Url: this.url, Connected: this.open };
  }
}
