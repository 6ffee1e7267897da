import {
  locateConnection,
  Sink,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
} from "../core/index.js";
import { SlackConnection } from "./SlackConnection.js";

/** Base of the Slack sinks: turns an event into a message and queues it on the connection. */
export abstract class SlackSink extends Sink {
  override readonly settlesReceipts = true;
  readonly connection: SlackConnection;

  constructor(app: Application, pipeline: Pipeline, connection: string | SlackConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, SlackConnection);
    this.connection.register(pipeline);
  }

  /** The Slack message for an event; throwing sends the event to the pipeline's error rules. */
  protected abstract message(context: EventContext, event: unknown): object;

  process(context: EventContext, event: unknown): null {
    this.connection.consume(this.message(context, event), context.receipt);
    return null;
  }

  /** Waits until what this pipeline queued is sent. */
  override async stop(): Promise<void> {
    await this.connection.whenIdle();
  }

  static override ConnectionClass = SlackConnection;
}

/** Sends `{"text": String(event)}` (objects as JSON). */
export class SlackTextSink extends SlackSink {
  protected message(_context: EventContext, event: unknown): object {
    const text = typeof event === "string" ? event : Buffer.isBuffer(event) ? event.toString("utf8") : JSON.stringify(event);
    return { text };
  }
}

/** Sends the event as a complete Slack message: an object with `text`, `blocks` and/or `attachments`. */
export class SlackMessageSink extends SlackSink {
  protected message(_context: EventContext, event: unknown): object {
    if (typeof event !== "object" || event === null || Array.isArray(event)) throw new TypeError(`${this.id} expects a Slack message object, got ${Array.isArray(event) ? "an array" : typeof event}`);
    const m = event as Record<string, unknown>;
    if (m.text === undefined && m.blocks === undefined && m.attachments === undefined) throw new TypeError(`${this.id}: a Slack message needs 'text', 'blocks' or 'attachments'`);
    return m;
  }
}
