import {
  BatchingSink,
  locateConnection,
  ProcessingError,
  RetryableError,
  toError,
  type Application,
  type ComponentOptions,
  type ConfigSpec,
  type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { SmtpConnection, SmtpError, type MailMessage } from "./SmtpConnection.js";
import { compileTemplate, firstLine, type MailTemplate } from "./templates.js";

/** One mail: the events it carries and, once rendered, the message (kept for retries). */
interface MailJob {
  events: unknown[];
  message: MailMessage | null;
}

const CONFIG = {
  mode: { type: "string", default: "event", choices: ["event", "batch"], doc: "event: one mail per event (BSPump); batch: one mail per batch of events" },
  subject: { type: "string", default: "", doc: "Subject template (nunjucks); empty: the connection's subject" },
  body: { type: "string", default: "", doc: "Body template (nunjucks); empty: the event as text (objects as JSON), one line per event in a batch" },
  to: { type: "string", default: "", doc: "Recipients template (comma-separated addresses); empty: the connection's to/cc/bcc" },
  batch_size: { type: "int", default: 100, doc: "mode batch: events per mail at most" },
  batch_period: { type: "float", default: 60, doc: "mode batch: seconds from a mail's first event until it is sent" },
} satisfies ConfigSpec;

/**
 * Sends events as mail through an SmtpConnection (BSPump's SmtpSink). `mode = event` (BSPump): one
 * mail per event; `mode = batch`: one mail per `batch_size` events or `batch_period` seconds.
 * `subject`, `body` and `to` are nunjucks (Jinja2) templates; per event they see the event's keys
 * and `event`, per batch `events` and `count`. Empty: the connection's subject and recipients, and
 * the event itself as text (objects as JSON; a batch one line per event) — BSPump's behaviour.
 *
 * The BatchingSink loop sends the mails in order: a transient failure (4xx reply, lost connection)
 * is retried with backoff while the pipeline waits; a permanent one (a refused recipient, wrong
 * credentials) fails the mail through the pipeline's error rules. A template that needs a value the
 * event lacks fails the event in `process()`. Receipts settle when the server took the mail.
 */
export class SmtpSink extends BatchingSink<MailJob> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: SmtpConnection;
  readonly mode: "event" | "batch";
  private readonly subject: MailTemplate | null;
  private readonly body: MailTemplate | null;
  private readonly to: MailTemplate | null;
  /** mode event: the mail of the event just added (count 1: handed over at once); mode batch: the events of the open mail. */
  private openJob: MailJob | null = null;
  private batchEvents: unknown[] = [];

  constructor(app: Application, pipeline: Pipeline, connection: string | SmtpConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, SmtpConnection);
    this.mode = this.config.getString("mode") as "event" | "batch";
    const template = (key: "subject" | "body" | "to"): MailTemplate | null => {
      const source = this.config.getString(key);
      return source === "" ? null : compileTemplate(source, `[${this.config.section}] key '${key}'`);
    };
    this.subject = template("subject");
    this.body = template("body");
    this.to = template("to");
    const batch = this.mode === "batch";
    this.batching({
      count: batch ? Math.max(1, this.config.getInt("batch_size")) : 1,
      period: batch ? Math.max(0, this.config.getFloat("batch_period")) : 0,
      pendingUnit: "batches",
      maxPending: Math.max(1, this.connection.config.getInt("output_queue_max_size")),
      ...this.connection.retryPolicy,
    });
  }

  static override ConnectionClass = SmtpConnection;

  process(context: EventContext, event: unknown): null {
    if (this.mode === "event") {
      // Rendered now: a template the event cannot fill fails this event, by the pipeline's rules.
      const variables = typeof event === "object" && event !== null && !Array.isArray(event) && !Buffer.isBuffer(event) ? { ...(event as Record<string, unknown>), event } : { event };
      this.openJob = { events: [event], message: this.render(variables, textOf(event)) };
    } else this.batchEvents.push(event);
    this.added(context.receipt, 1);
    return null;
  }

  protected takeBatch(): MailJob {
    if (this.mode === "event") {
      const job = this.openJob!;
      this.openJob = null;
      return job;
    }
    const events = this.batchEvents;
    this.batchEvents = [];
    return { events, message: null };
  }

  protected async send(batch: SentBatch<MailJob>, _attempt: number): Promise<void> {
    const job = batch.data;
    job.message ??= this.render({ events: job.events, count: job.events.length }, job.events.map(textOf).join("\n"));
    try {
      await this.connection.send(job.message);
    } catch (e) {
      if (e instanceof SmtpError && e.transient) throw new RetryableError(e.message);
      throw e;
    }
  }

  /** A mail that failed for good goes through the pipeline's failure path with its event (or its events). */
  protected override sendFailed(batch: SentBatch<MailJob>, error: Error): void {
    const events = batch.data.events;
    this.batchFailed(batch.tally, this.mode === "event" ? events[0] : events, error);
  }

  private render(variables: object, defaultBody: string): MailMessage {
    const run = (template: MailTemplate | null, key: string, fallback: string): string => {
      if (template === null) return fallback;
      try {
        return template(variables);
      } catch (e) {
        throw new ProcessingError(`${this.id}: template '${key}' failed: ${firstLine(toError(e).message)}`);
      }
    };
    return {
      subject: run(this.subject, "subject", this.connection.subject),
      text: run(this.body, "body", defaultBody),
      to: run(this.to, "to", "").trim(),
    };
  }
}

/** An event as mail text: strings as they are, bytes as UTF-8, anything else as JSON. */
function textOf(event: unknown): string {
  if (typeof event === "string") return event;
  if (Buffer.isBuffer(event)) return event.toString("utf8");
  return JSON.stringify(event) ?? String(event);
}
