import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ThrottleSwitch, Sink, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type Receipt } from "../core/index.js";
import { describeAddress, parseAddress, type SocketAddress } from "./address.js";
import { clientTlsOptions, TLS_CONFIG } from "./tls.js";

const CONFIG = {
  address: { type: "string", default: "127.0.0.1 8888", doc: "Server address: 'host port', 'host:port' or a UNIX socket path" },
  outbound_queue_max_size: { type: "int", default: 100, doc: "Events queued while disconnected (or while the socket's buffer is full) before the pipeline is throttled" },
  reconnect_delay: { type: "float", default: 1, doc: "Seconds between reconnection attempts" },
  ...TLS_CONFIG,
} satisfies ConfigSpec;

/**
 * Writes each event (Buffer or string; other values are an error) to a TCP, TLS or UNIX stream
 * server. Connects when the pipeline starts and reconnects after `reconnect_delay` seconds when the
 * connection is lost. While it is down, events queue up to `outbound_queue_max_size`, and the
 * pipeline is throttled at that size.
 *
 * Delivery receipts are settled once the socket accepted the bytes (handed to the kernel): a plain
 * stream has no application-level acknowledgement, so bytes the kernel took just before the peer
 * vanished can still be lost. Writes that had not completed when the connection broke are sent
 * again after reconnecting, first and in order.
 *
 * BSPump: `bspump.ipc.StreamClientSink` (`StreamSink`); UNIX sockets and TLS were TODO there.
 */
export class StreamClientSink extends Sink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  override readonly settlesReceipts = true;
  readonly address: SocketAddress;
  private readonly maxQueue: number;
  private readonly reconnectDelay: number;
  private socket: Socket | null = null;
  private connected = false;
  private running = false;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  private timer: NodeJS.Timeout | null = null;
  // Events not yet sent (disconnected), and events written but whose write callback has not run.
  private queue: Buffer[] = [];
  private queueReceipts: (Receipt | undefined)[] = [];
  private inflight: Buffer[] = [];
  private inflightReceipts: (Receipt | undefined)[] = [];
  private corked = false;
  readonly stats = { sent: 0, bytes: 0, connects: 0, disconnects: 0, resent: 0 };
  private readonly onWritten = (error?: Error | null): void => this.written(error);
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket?.uncork();
  };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const addresses = this.config.getString("address").split("\n").filter((l) => l.trim() !== "");
    this.address = parseAddress(addresses[0] ?? "", `[${this.config.section}] address`);
    this.maxQueue = Math.max(1, this.config.getInt("outbound_queue_max_size"));
    this.reconnectDelay = Math.max(0.01, this.config.getFloat("reconnect_delay"));
    app.metrics.addCollector(() => [
      { name: "bspump.socket.client", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.stats, queued: this.queue.length, connected: this.connected ? 1 : 0 } },
    ]);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  override start(): void {
    this.running = true;
    this.updateThrottle();
    this.connect();
  }

  process(context: EventContext, event: unknown): null {
    let data: Buffer;
    if (Buffer.isBuffer(event)) data = event;
    else if (typeof event === "string") data = Buffer.from(event);
    else if (event instanceof Uint8Array) data = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else throw new TypeError(`${this.id} expects a Buffer or a string; serialize the event first (e.g. DictToJsonBytesParser)`);
    if (this.connected && this.queue.length === 0) this.write(data, context.receipt);
    else {
      this.queue.push(data);
      this.queueReceipts.push(context.receipt);
      this.updateThrottle();
    }
    return null;
  }

  private write(data: Buffer, receipt: Receipt | undefined): void {
    const socket = this.socket!;
    if (!this.corked) {
      // Coalesce the writes of one tick into one syscall.
      this.corked = true;
      socket.cork();
      process.nextTick(this.uncork);
    }
    this.inflight.push(data);
    this.inflightReceipts.push(receipt);
    if (!socket.write(data, this.onWritten)) this.updateThrottle();
  }

  private written(error?: Error | null): void {
    if (error) return; // the whole in-flight list is re-queued when the socket closes
    const data = this.inflight.shift();
    const receipt = this.inflightReceipts.shift();
    if (data === undefined) return;
    this.stats.sent++;
    this.stats.bytes += data.length;
    receipt?.settle();
  }

  private connect(): void {
    if (!this.running || this.socket !== null) return;
    const a = this.address;
    const host = a.kind === "inet" ? a.host || "127.0.0.1" : "";
    const tls = clientTlsOptions(this.config, host);
    let socket: Socket;
    if (tls) {
      socket = a.kind === "unix" ? tlsConnect({ ...tls, path: a.path }) : tlsConnect({ ...tls, host, port: a.port });
      socket.once("secureConnect", () => this.onConnect(socket));
    } else {
      socket = a.kind === "unix" ? netConnect({ path: a.path }) : netConnect({ host, port: a.port });
      socket.once("connect", () => this.onConnect(socket));
    }
    this.socket = socket;
    socket.on("drain", () => this.updateThrottle());
    socket.on("data", () => {}); // replies are read and discarded, as in BSPump
    socket.on("error", (e) => this.pipeline.log.debug(`${this.id}: ${describeAddress(a)}: ${e.message}`));
    socket.on("close", () => this.onClose(socket));
  }

  private onConnect(socket: Socket): void {
    if (socket !== this.socket) return;
    this.connected = true;
    this.stats.connects++;
    this.pipeline.log.info(`${this.id}: connected to ${describeAddress(this.address)}`);
    this.drainQueue();
  }

  private drainQueue(): void {
    const queue = this.queue;
    const receipts = this.queueReceipts;
    this.queue = [];
    this.queueReceipts = [];
    for (let i = 0; i < queue.length; i++) this.write(queue[i]!, receipts[i]);
    this.updateThrottle();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    if (this.connected) {
      this.stats.disconnects++;
      this.pipeline.log.warn(`${this.id}: connection to ${describeAddress(this.address)} lost`);
    }
    this.connected = false;
    this.socket = null;
    this.corked = false;
    if (this.inflight.length > 0) {
      // Not confirmed written: send again, first, after reconnecting.
      this.stats.resent += this.inflight.length;
      this.queue = this.inflight.concat(this.queue);
      this.queueReceipts = this.inflightReceipts.concat(this.queueReceipts);
      this.inflight = [];
      this.inflightReceipts = [];
    }
    this.updateThrottle();
    if (this.running && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, this.reconnectDelay * 1000);
    }
  }

  private updateThrottle(): void {
    // Disconnected with room in the queue: keep accepting; a full queue or socket buffer throttles.
    const throttle = this.queue.length >= this.maxQueue || (this.connected && this.socket !== null && this.socket.writableNeedDrain);
    this.throttle.set(throttle);
  }

  /** Sends what is queued (waiting up to `timeoutSeconds` for a connection), then closes. */
  override async stop(timeoutSeconds = 5): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while ((this.queue.length > 0 || this.inflight.length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    if (socket !== null) await new Promise<void>((resolve) => socket.end(() => resolve()));
    const lost = this.queue.length + this.inflight.length;
    if (lost > 0) {
      const error = new Error(`${this.id}: ${lost} events not sent to ${describeAddress(this.address)} before stop`);
      this.pipeline.log.error(error.message);
      for (const r of this.queueReceipts.concat(this.inflightReceipts)) r?.fail(error);
    }
    this.queue = [];
    this.queueReceipts = [];
    this.inflight = [];
    this.inflightReceipts = [];
    socket?.destroy();
    this.socket = null;
    this.connected = false;
  }
}

/** BSPump's `bspump.ipc.StreamSink`. */
export class StreamSink extends StreamClientSink {}

/** The TCP client sink under the `bspump.socket` naming. */
export class TCPStreamSink extends StreamClientSink {}
