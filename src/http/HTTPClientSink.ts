import {
  BatchingSink,
  ProcessingError,
  RetryableError,
  toError,
  type Application,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { parseResponseCodes, retryAfterSeconds } from "./util.js";

export interface HTTPClientSinkOptions extends ComponentOptions {
  headers?: Record<string, string>;
}

const CONFIG = {
  url: { type: "string", default: "http://localhost:8080/", doc: "Where to send the events" },
  method: { type: "string", default: "POST", doc: "HTTP method" },
  format: { type: "string", default: "json", choices: ["json", "ndjson"], doc: "json: a JSON array per request; ndjson: one JSON document per line" },
  batch_size: { type: "int", default: 1000, doc: "Events per request" },
  flush_period: { type: "float", default: 1, doc: "Seconds after which a partial batch is sent (0: only on size and stop)" },
  response_code: { type: "string", default: "200 201 202 204", doc: "Accepted status codes" },
  max_retries: { type: "int", default: 5, doc: "Retries of a failed request before the batch fails" },
  retry_delay: { type: "float", default: 1, doc: "Seconds before the first retry (doubling, at most 30)" },
  timeout: { type: "float", default: 30, doc: "Seconds per request" },
  max_pending_batches: { type: "int", default: 4, doc: "Batches waiting to be sent above which the pipeline is throttled" },
} satisfies ConfigSpec;

/**
 * Posts events to an HTTP endpoint in batches: a JSON array (`format = json`) or JSON lines
 * (`ndjson`), every `batch_size` events and every `flush_period` seconds. Batches are sent one at a
 * time, in order. A failed request (connection error, timeout, 408, 429 or 5xx) is retried after
 * `retry_delay` seconds, doubling up to 30 s, or after the server's `Retry-After` (the pipeline is
 * throttled meanwhile); other statuses, or `max_retries` exhausted, fail the batch through the
 * pipeline's error rules, once for the batch: by default its receipts fail and the pipeline goes to
 * its error state (events are never dropped silently). Delivery receipts are settled once the server
 * answered with an accepted status. The pipeline is throttled while more than `max_pending_batches` wait.
 *
 * Buffers are taken as already-serialized JSON; other values are JSON-encoded.
 */
export class HTTPClientSink extends BatchingSink<string> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly url: string;
  private readonly method: string;
  private readonly ndjson: boolean;
  private readonly codes: Set<number>;
  private readonly timeout: number;
  private readonly headers: Record<string, string>;
  private parts: string[] = [];
  readonly stats = { sent: 0, requests: 0, retries: 0, failed: 0 };

  constructor(app: Application, pipeline: Pipeline, options: HTTPClientSinkOptions = {}) {
    super(app, pipeline, options);
    this.url = this.config.getString("url");
    this.method = this.config.getString("method").toUpperCase();
    this.ndjson = this.config.getString("format") === "ndjson";
    this.codes = parseResponseCodes(this.config.getString("response_code"), `[${this.config.section}] response_code`);
    this.timeout = this.config.getFloat("timeout");
    this.headers = { "Content-Type": this.ndjson ? "application/x-ndjson" : "application/json", ...(options.headers ?? {}) };
    const flushPeriod = this.config.getFloat("flush_period");
    this.batching({
      count: Math.max(1, this.config.getInt("batch_size")),
      period: flushPeriod > 0 ? flushPeriod : Infinity,
      maxPending: Math.max(1, this.config.getInt("max_pending_batches")),
      retries: Math.max(0, this.config.getInt("max_retries")),
      retryDelay: Math.max(0, this.config.getFloat("retry_delay")),
      maxRetryDelay: 30,
    });
    app.metrics.addCollector(() => [{ name: "bspump.http.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.stats, pending: this.queued } }]);
  }

  process(context: EventContext, event: unknown): null {
    const text = event instanceof Uint8Array ? Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString("utf8") : JSON.stringify(event);
    if (text === undefined) throw new TypeError(`${this.id}: the event cannot be encoded as JSON`);
    this.parts.push(text);
    this.added(context.receipt, text.length);
    return null;
  }

  protected takeBatch(): string {
    const parts = this.parts;
    this.parts = [];
    return this.ndjson ? parts.join("\n") + "\n" : `[${parts.join(",")}]`;
  }

  protected async send(batch: SentBatch<string>, attempt: number): Promise<void> {
    if (attempt > 0) this.stats.retries++;
    this.stats.requests++;
    const failed = `${this.method} ${this.url} failed`;
    let response: Response;
    try {
      const signal = this.timeout > 0 ? AbortSignal.timeout(this.timeout * 1000) : undefined;
      response = await fetch(this.url, { method: this.method, headers: this.headers, body: batch.data, ...(signal ? { signal } : {}) });
      await response.arrayBuffer().catch(() => undefined);
    } catch (e) {
      throw new RetryableError(`${failed}: ${toError(e).message}`);
    }
    if (this.codes.has(response.status)) {
      this.stats.sent += batch.events;
      return;
    }
    const status = response.status;
    if (status === 408 || status === 429 || status >= 500) throw new RetryableError(`${failed}: HTTP ${status}`, retryAfterSeconds(response.headers.get("retry-after")));
    throw new ProcessingError(`${this.id}: ${failed}: HTTP ${status}`);
  }

  protected override sendFailed(batch: SentBatch<string>, error: Error): void {
    this.stats.failed += batch.events;
    super.sendFailed(batch, error);
  }
}
