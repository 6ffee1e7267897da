import {
  ProcessingError,
  ReceiptTally,
  Sink,
  toError,
  ThrottleSwitch,
  type Application,
  type ComponentOptions,
  type ConfigSpec,
  type EventContext,
  type Pipeline,
} from "../core/index.js";
import { parseResponseCodes, retryAfterSeconds, sleep } from "./util.js";

export interface HTTPClientSinkOptions extends ComponentOptions {
  headers?: Record<string, string>;
}

interface Batch {
  body: string;
  events: number;
  tally: ReceiptTally;
}

/**
 * Posts events to an HTTP endpoint in batches: a JSON array (`format = json`) or JSON lines
 * (`ndjson`), every `batch_size` events and every `flush_period` seconds. Batches are sent one at a
 * time, in order. A failed request (connection error, timeout, 408, 429 or 5xx) is retried after
 * `retry_delay` seconds, doubling up to 30 s, or after the server's `Retry-After`; other statuses,
 * or `max_retries` exhausted, fail the batch: its receipts fail and the pipeline goes to its error
 * state (events are never dropped silently). Delivery receipts are settled once the server answered
 * with an accepted status. The pipeline is throttled while `max_pending_batches` wait.
 *
 * Buffers are taken as already-serialized JSON; other values are JSON-encoded.
 */
export class HTTPClientSink extends Sink {
  static override ConfigDefaults: ConfigSpec = {
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
  };

  override readonly settlesReceipts = true;
  readonly url: string;
  private readonly method: string;
  private readonly ndjson: boolean;
  private readonly batchSize: number;
  private readonly flushPeriod: number;
  private readonly codes: Set<number>;
  private readonly maxRetries: number;
  private readonly retryDelay: number;
  private readonly timeout: number;
  private readonly maxPending: number;
  private readonly headers: Record<string, string>;
  private parts: string[] = [];
  private tally = new ReceiptTally();
  private pending = 0;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  readonly stats = { sent: 0, requests: 0, retries: 0, failed: 0 };

  constructor(app: Application, pipeline: Pipeline, options: HTTPClientSinkOptions = {}) {
    super(app, pipeline, options);
    this.url = this.config.getString("url");
    this.method = this.config.getString("method").toUpperCase();
    this.ndjson = this.config.getString("format") === "ndjson";
    this.batchSize = Math.max(1, this.config.getInt("batch_size"));
    this.flushPeriod = this.config.getFloat("flush_period");
    this.codes = parseResponseCodes(this.config.getString("response_code"), `[${this.config.section}] response_code`);
    this.maxRetries = Math.max(0, this.config.getInt("max_retries"));
    this.retryDelay = Math.max(0, this.config.getFloat("retry_delay"));
    this.timeout = this.config.getFloat("timeout");
    this.maxPending = Math.max(1, this.config.getInt("max_pending_batches"));
    this.headers = { "Content-Type": this.ndjson ? "application/x-ndjson" : "application/json", ...(options.headers ?? {}) };
    app.metrics.addCollector(() => [{ name: "bspump.http.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.stats, pending: this.pending } }]);
  }

  process(context: EventContext, event: unknown): null {
    const text = event instanceof Uint8Array ? Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString("utf8") : JSON.stringify(event);
    if (text === undefined) throw new TypeError(`${this.id}: the event cannot be encoded as JSON`);
    this.parts.push(text);
    this.tally.add(context.receipt);
    if (this.parts.length >= this.batchSize) void this.flush();
    return null;
  }

  override start(): void {
    if (this.flushPeriod > 0 && this.timer === null) {
      this.timer = setInterval(() => void this.flush(), this.flushPeriod * 1000);
      this.timer.unref();
    }
  }

  /** Sends what is buffered; resolves when it (and every earlier batch) is done. */
  flush(): Promise<void> {
    if (this.parts.length === 0) return this.chain;
    const parts = this.parts;
    this.parts = [];
    const batch: Batch = { body: this.ndjson ? parts.join("\n") + "\n" : `[${parts.join(",")}]`, events: parts.length, tally: this.tally.take() };
    this.pending++;
    this.updateThrottle();
    this.chain = this.chain.then(() => this.send(batch));
    return this.chain;
  }

  private async send(batch: Batch): Promise<void> {
    let delay = this.retryDelay;
    try {
      for (let attempt = 0; ; attempt++) {
        let retryAfter: number | undefined;
        let problem: string;
        let retriable = true;
        try {
          this.stats.requests++;
          const signal = this.timeout > 0 ? AbortSignal.timeout(this.timeout * 1000) : undefined;
          const response = await fetch(this.url, { method: this.method, headers: this.headers, body: batch.body, ...(signal ? { signal } : {}) });
          await response.arrayBuffer().catch(() => undefined);
          if (this.codes.has(response.status)) {
            this.stats.sent += batch.events;
            batch.tally.settleAll();
            return;
          }
          problem = `HTTP ${response.status}`;
          retriable = response.status === 408 || response.status === 429 || response.status >= 500;
          retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
        } catch (e) {
          problem = toError(e).message;
        }
        if (!retriable || attempt >= this.maxRetries) {
          this.stats.failed += batch.events;
          const error = new ProcessingError(`${this.id}: ${this.method} ${this.url} failed${retriable ? ` after ${attempt + 1} attempts` : ""}: ${problem}`);
          batch.tally.failAll(error);
          this.pipeline.setError(null, null, error);
          return;
        }
        this.stats.retries++;
        const wait = retryAfter ?? delay;
        this.pipeline.log.warn(`${this.id}: ${problem}; retrying in ${wait} s`);
        await sleep(wait);
        delay = Math.min(30, Math.max(delay * 2, 0.01));
      }
    } finally {
      this.pending--;
      this.updateThrottle();
    }
  }

  private updateThrottle(): void {
    this.throttle.set(this.pending > this.maxPending);
  }

  override async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
