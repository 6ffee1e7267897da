import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { ConfigError, Sink, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { parseAddress, type SocketAddress } from "./address.js";

const CONFIG = {
  address: { type: "string", default: "127.0.0.1 8888", doc: "Destination 'host port' or 'host:port'" },
} satisfies ConfigSpec;

/**
 * Sends each event (Buffer or string) as one UDP datagram to `address`. UDP gives no delivery
 * confirmation, so the event counts as delivered once handed to the socket.
 *
 * BSPump: `bspump.ipc.DatagramSink`.
 */
export class DatagramSink extends Sink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly address: SocketAddress & { kind: "inet" };
  private readonly host: string;
  private socket: Socket | null = null;
  sent = 0;
  errors = 0;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const a = parseAddress(this.config.getString("address"), `[${this.config.section}] address`);
    if (a.kind !== "inet") throw new ConfigError(`[${this.config.section}] address: UNIX datagram sockets are not supported`);
    this.address = a;
    this.host = a.host || "127.0.0.1";
  }

  override start(): void {
    const host = this.host;
    this.socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
    this.socket.on("error", (e) => {
      this.errors++;
      this.pipeline.log.warn(`${this.id}: ${e.message}`);
    });
  }

  process(_context: EventContext, event: unknown): null {
    if (!(event instanceof Uint8Array) && typeof event !== "string") throw new TypeError(`${this.id} expects a Buffer or a string`);
    if (this.socket === null) throw new Error(`${this.id} is not started`);
    this.socket.send(event, this.address.port, this.host);
    this.sent++;
    return null;
  }

  override async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
