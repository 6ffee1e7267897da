import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { ConfigError, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { describeAddress, formatPeer, parseAddresses, type SocketAddress } from "./address.js";

export interface DatagramContext extends EventContext {
  /** The sender, `"host port"`. */
  datagram: string;
}

const CONFIG = {
  address: { type: "string", default: "127.0.0.1 8888", doc: "Listen address(es), one per line: 'host port', 'host:port' or 'port'" },
  max_packet_size: { type: "int", default: 65536, doc: "Datagrams larger than this are dropped (counted)" },
  receiver_buffer_size: { type: "int", default: 0, doc: "SO_RCVBUF in bytes (0: the OS default)" },
  max_queue: { type: "int", default: 10000, doc: "Datagrams kept while the pipeline is not ready; more are dropped" },
} satisfies ConfigSpec;

/**
 * Receives UDP datagrams; each one becomes one event (a Buffer) with the sender in `context.datagram`.
 * UDP cannot be paused: while the pipeline is not ready, up to `max_queue` datagrams wait in memory
 * and later ones are dropped (counted as `dropped`), as the kernel would drop them.
 * UNIX datagram sockets are not supported by Node.js.
 *
 * BSPump: `bspump.ipc.DatagramSource`, also `bspump.socket.UDPSource`.
 */
export class DatagramSource extends Source {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly addresses: SocketAddress[];
  private readonly maxPacket: number;
  private readonly rcvbuf: number;
  private readonly maxQueue: number;
  private readonly sockets: Socket[] = [];
  private queue: Buffer[] = [];
  private queuePeers: string[] = [];
  private draining = false;
  readonly stats = { received: 0, dropped: 0, oversize: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.addresses = parseAddresses(this.config.getString("address"), `[${this.config.section}] address`);
    for (const a of this.addresses) {
      if (a.kind === "unix") throw new ConfigError(`[${this.config.section}] address: UNIX datagram sockets are not supported ('${a.path}')`);
    }
    this.maxPacket = this.config.getInt("max_packet_size");
    this.rcvbuf = this.config.getInt("receiver_buffer_size");
    this.maxQueue = Math.max(0, this.config.getInt("max_queue"));
    app.metrics.addCollector(() => [{ name: "bspump.socket.datagram", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats, queued: this.queue.length } }]);
  }

  /** The port of the first socket (useful with port 0). */
  get port(): number {
    return this.sockets[0]?.address().port ?? 0;
  }

  async main(): Promise<void> {
    for (const a of this.addresses) {
      if (a.kind !== "inet") continue;
      const socket = createSocket({ type: isIPv6(a.host) ? "udp6" : "udp4", ...(this.rcvbuf > 0 ? { recvBufferSize: this.rcvbuf } : {}) });
      socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
      socket.on("error", (e) => this.log.error(`UDP socket on ${describeAddress(a)}: ${e.message}`));
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(a.port, a.host === "" ? undefined : a.host, () => {
          socket.off("error", reject);
          resolve();
        });
      }).catch((e: unknown) => {
        throw new Error(`Cannot bind ${describeAddress(a)}: ${toError(e).message}`);
      });
      this.sockets.push(socket);
      this.log.info(`Listening on UDP ${formatPeer(socket.address().address, socket.address().port)}`);
    }
    await this.untilStopped;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.stopping) return;
    if (msg.length > this.maxPacket) {
      this.stats.oversize++;
      return;
    }
    this.stats.received++;
    const peer = formatPeer(rinfo.address, rinfo.port);
    if (!this.draining && this.queue.length === 0) {
      const go = this.whenReady();
      if (go === true) {
        const context: DatagramContext = { datagram: peer };
        this.pipeline.process(msg, context);
        return;
      }
      this.queueDatagram(msg, peer);
      void this.drain(go);
      return;
    }
    this.queueDatagram(msg, peer);
  }

  private queueDatagram(msg: Buffer, peer: string): void {
    if (this.queue.length >= this.maxQueue) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(msg);
    this.queuePeers.push(peer);
  }

  private async drain(first: Promise<boolean>): Promise<void> {
    this.draining = true;
    try {
      if (!(await first)) return;
      let i = 0;
      for (; i < this.queue.length; i++) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        const context: DatagramContext = { datagram: this.queuePeers[i]! };
        this.pipeline.process(this.queue[i]!, context);
      }
      this.queue = [];
      this.queuePeers = [];
    } finally {
      this.draining = false;
    }
  }

  protected override async onStop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
  }
}

/** BSPump's `bspump.socket.UDPSource`. */
export class UDPSource extends DatagramSource {}
