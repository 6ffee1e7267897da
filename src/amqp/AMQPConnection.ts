import type { ChannelModel } from "amqplib";
import { Connection, PubSub, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, dependency } from "../core/index.js";

const amqplib = dependency<typeof import("amqplib")>("amqplib");

const CONFIG = {
  url: { type: "string", default: "amqp://localhost/", doc: "Broker URL, amqp://user:password@host:port/vhost (options such as ?heartbeat=30 go in the query)" },
  appname: { type: "string", default: "bspump.ts", doc: "Sent to the broker as the client property 'application' (BSPump: bspump.py)" },
  reconnect_delay: { type: "float", default: 10.0, doc: "Longest wait between reconnect attempts, seconds" },
  reconnect_delay_min: { type: "float", default: 0.25, doc: "First wait before a reconnect attempt, seconds (doubles up to reconnect_delay)" },
} satisfies ConfigSpec;

/**
 * A connection to a RabbitMQ (AMQP 0-9-1) broker, shared by AMQP sources and sinks.
 *
 * It connects when the PumpService initialises it and reconnects after a loss with an exponential
 * backoff (from `reconnect_delay_min` doubling up to `reconnect_delay` seconds). Each open publishes
 * `AMQPConnection.open!` and each loss `AMQPConnection.close!` on the connection's own `pubsub`, as
 * in BSPump; components wait for `whenOpen()` and open their own channels.
 */
export class AMQPConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly pubsub: PubSub;
  readonly url: string;
  private model: ChannelModel | null = null;
  private closing = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;
  private waiters: ((model: ChannelModel | null) => void)[] = [];
  /** How many times the connection opened (reconnects + 1). */
  opens = 0;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id ?? "AMQPConnection", options);
    this.url = this.config.getString("url");
    this.pubsub = new PubSub((message, error) => this.log.error(`Subscriber of '${message}' failed`, { error: toError(error) }));
  }

  /** The open connection, or null while (re)connecting. */
  get channelModel(): ChannelModel | null {
    return this.model;
  }

  get isOpen(): boolean {
    return this.model !== null;
  }

  override async initialize(): Promise<void> {
    this.start();
  }

  /** Starts connecting (idempotent); initialize() calls it. */
  start(): void {
    this.closing = false;
    if (this.model === null && this.connecting === null && this.timer === null) this.connecting = this.open();
  }

  /** Resolves with the open connection, or null once the connection is closed for good. */
  whenOpen(): Promise<ChannelModel | null> {
    if (this.model !== null) return Promise.resolve(this.model);
    if (this.closing) return Promise.resolve(null);
    this.start();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async open(): Promise<void> {
    try {
      const model = await amqplib().connect(this.url, {
        clientProperties: { application: this.config.getString("appname") },
      });
      if (this.closing) {
        await model.close().catch(() => {});
        return;
      }
      this.model = model;
      this.attempt = 0;
      this.opens++;
      model.on("error", (e: Error) => this.log.warn(`AMQP connection error: ${e.message}`));
      model.on("close", () => this.lost(model));
      model.on("blocked", (reason: string) => this.log.warn(`Broker blocked the connection: ${reason}`));
      this.log.info(`Connected to ${redact(this.url)}`);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w(model);
      this.pubsub.publish("AMQPConnection.open!", this);
    } catch (e) {
      this.log.warn(`Cannot connect to ${redact(this.url)}: ${toError(e).message}`);
      this.pubsub.publish("AMQPConnection.close!", this);
      this.schedule();
    } finally {
      this.connecting = null;
    }
  }

  private lost(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = null;
    this.pubsub.publish("AMQPConnection.close!", this);
    if (!this.closing) {
      this.log.warn("AMQP connection lost; reconnecting");
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.closing || this.timer !== null) return;
    const min = Math.max(0.01, this.config.getFloat("reconnect_delay_min"));
    const max = Math.max(min, this.config.getFloat("reconnect_delay"));
    const delay = Math.min(max, min * 2 ** this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closing) this.connecting = this.open();
    }, delay * 1000);
    this.timer.unref();
  }

  /** Closes the connection for good (the PumpService calls it after every pipeline stopped). */
  override async finalize(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.connecting) await this.connecting;
    const model = this.model;
    this.model = null;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(null);
    if (model) await model.close().catch(() => {});
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Open: this.isOpen, Opens: this.opens };
  }
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}
