import { randomBytes } from "node:crypto";
import { connect, type ChannelModel } from "amqplib";
import { BSPumpApplication, Config, Pipeline, Receipt, Sink, type EventContext, type ProcessorBase, type Source } from "../../src/core/index.js";
import { AMQPConnection, AMQPSource } from "../../src/amqp/index.js";

export const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/";

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

const apps: BSPumpApplication[] = [];

/** Stops every app a test made (a failed test leaves none running, so the file can end). */
export function stopApps(): void {
  for (const app of apps.splice(0)) if (app.isRunning) app.stop(1);
}

export function makeApp(ini = ""): { app: BSPumpApplication; connection: AMQPConnection } {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<test>"), handleSignals: false });
  app.logs.defaultLevel = "error";
  apps.push(app);
  const connection = new AMQPConnection(app, "AMQPConnection", { config: { url: AMQP_URL, reconnect_delay: 1 } });
  app.pumpService.addConnection(connection);
  return { app, connection };
}

/** A test-side client: declares queues, publishes, drains, inspects. */
export class Broker {
  private constructor(readonly model: ChannelModel) {}

  static async open(): Promise<Broker> {
    return new Broker(await connect(AMQP_URL));
  }

  async queue(name: string): Promise<void> {
    const ch = await this.model.createChannel();
    await ch.assertQueue(name, { durable: false, autoDelete: false });
    await ch.close();
  }

  async publish(queue: string, bodies: (string | Buffer)[], headers?: Record<string, unknown>): Promise<void> {
    const ch = await this.model.createConfirmChannel();
    for (const b of bodies) ch.sendToQueue(queue, Buffer.isBuffer(b) ? b : Buffer.from(b), { headers });
    await ch.waitForConfirms();
    await ch.close();
  }

  /** Ready messages in the queue and consumers on it. */
  async check(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    const ch = await this.model.createChannel();
    const r = await ch.checkQueue(queue);
    await ch.close();
    return { messageCount: r.messageCount, consumerCount: r.consumerCount };
  }

  /** Takes every ready message (acking them); with `redelivered` flags. */
  async drain(queue: string): Promise<{ body: string; redelivered: boolean; headers: Record<string, unknown> | undefined; contentType: unknown }[]> {
    const ch = await this.model.createChannel();
    const out: { body: string; redelivered: boolean; headers: Record<string, unknown> | undefined; contentType: unknown }[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      out.push({ body: m.content.toString(), redelivered: m.fields.redelivered, headers: m.properties.headers, contentType: m.properties.contentType });
    }
    await ch.close();
    return out;
  }

  async delete(...queues: string[]): Promise<void> {
    const ch = await this.model.createChannel();
    for (const q of queues) await ch.deleteQueue(q).catch(() => {});
    await ch.close().catch(() => {});
  }

  /** Declares a fresh queue per prefix, runs `body` with their names, then deletes them, whatever happened. */
  async withQueues(prefixes: string[], body: (...queues: string[]) => Promise<void>): Promise<void> {
    const queues = prefixes.map(uniqueName);
    for (const q of queues) await this.queue(q);
    try {
      await body(...queues);
    } finally {
      await this.delete(...queues);
    }
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

/** A sink that keeps receipts unsettled until `release()` (or settles at once when `hold` is false). */
export class HoldSink extends Sink {
  override readonly settlesReceipts = true;
  readonly events: unknown[] = [];
  private held: Receipt[] = [];
  hold = true;
  process(context: EventContext, event: unknown): null {
    this.events.push(event);
    if (!context.receipt) return null;
    if (this.hold) this.held.push(context.receipt);
    else context.receipt.settle();
    return null;
  }
  release(error: Error | null = null): void {
    const held = this.held;
    this.held = [];
    for (const r of held) {
      if (error) r.fail(error);
      else r.settle();
    }
  }
}

/**
 * makeApp() with one pipeline ("P", unless `makePipeline` makes another) built from what `build` returns
 * (source first), registered and running.
 */
export function startPipeline<T extends [Source, ...ProcessorBase[]]>(
  build: (app: BSPumpApplication, pipeline: Pipeline) => [...T],
  makePipeline: (app: BSPumpApplication) => Pipeline = (app) => new Pipeline(app, "P"),
): { app: BSPumpApplication; connection: AMQPConnection; pipeline: Pipeline; parts: T; running: Promise<number> } {
  const { app, connection } = makeApp();
  const pipeline = makePipeline(app);
  const parts = build(app, pipeline);
  const [source, ...rest]: [Source, ...ProcessorBase[]] = parts;
  pipeline.build(source, ...rest);
  app.pumpService.addPipeline(pipeline);
  return { app, connection, pipeline, parts, running: app.run() };
}

/**
 * startPipeline() for AMQPSource(`queue`) → `processors` → HoldSink (which settles at once when `hold` is false).
 */
export function consume(
  queue: string,
  options: { hold?: boolean; processors?: (app: BSPumpApplication, pipeline: Pipeline) => ProcessorBase[]; makePipeline?: (app: BSPumpApplication) => Pipeline } = {},
): { app: BSPumpApplication; pipeline: Pipeline; source: AMQPSource; sink: HoldSink; running: Promise<number> } {
  const { app, pipeline, parts, running } = startPipeline((app, pipeline): [AMQPSource, ...ProcessorBase[]] => {
    const sink = new HoldSink(app, pipeline);
    sink.hold = options.hold ?? true;
    return [new AMQPSource(app, pipeline, "AMQPConnection", { config: { queue } }), ...(options.processors?.(app, pipeline) ?? []), sink];
  }, options.makePipeline);
  return { app, pipeline, source: parts[0], sink: parts[parts.length - 1] as HoldSink, running };
}
