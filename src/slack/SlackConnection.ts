import { Connection, toError, Waiters, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Pipeline, type Receipt } from "../core/index.js";

interface Queued {
  body: string;
  receipt: Receipt | undefined;
}

const CONFIG = {
  hook_url: { type: "string", default: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", doc: "The incoming-webhook URL", secret: true },
  output_queue_max_size: { type: "int", default: 10, doc: "Messages waiting above which the pipelines are throttled" },
  timeout: { type: "float", default: 30, doc: "Seconds per request" },
  retry_delay: { type: "float", default: 5, doc: "Seconds before retrying after a 5xx, a network error, or a 429 without Retry-After" },
  max_retries: { type: "int", default: 10, doc: "Retries of one message (-1: unlimited)" },
} satisfies ConfigSpec;

/**
 * Posts messages to a Slack incoming webhook (`hook_url`), one at a time and in order. Slack's rate
 * limit is honoured: a 429 waits `Retry-After` seconds (or `retry_delay`) and sends the same message
 * again; 5xx answers and network errors are retried after `retry_delay`, up to `max_retries` times
 * (-1: for ever, as BSPump). Other answers (400 invalid_payload, 403, 404 no_service, 410) fail the
 * message at once. A message's delivery receipt is settled on 2xx and failed otherwise.
 *
 * While `output_queue_max_size` messages wait, the pipelines of the sinks using this connection
 * are throttled (and `SlackConnection.pause!` / `unpause!` are published, as in BSPump).
 */
export class SlackConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly hookUrl: string;
  private readonly maxQueue: number;
  private readonly timeout: number;
  private readonly retryDelay: number;
  private readonly maxRetries: number;
  private queue: Queued[] = [];
  private sending = false;
  private paused = false;
  private readonly pipelines = new Set<Pipeline>();
  private readonly idle = new Waiters();
  private stopped = false;
  private wakeRetry: (() => void) | null = null;
  readonly stats = { sent: 0, failed: 0, retries: 0, rate_limited: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    this.hookUrl = this.config.getString("hook_url");
    this.maxQueue = Math.max(1, this.config.getInt("output_queue_max_size"));
    this.timeout = this.config.getFloat("timeout");
    this.retryDelay = Math.max(0, this.config.getFloat("retry_delay"));
    this.maxRetries = this.config.getInt("max_retries");
    app.metrics.addCollector(() => [{ name: "bspump.slack", type: "counter", tags: { connection: this.id }, fields: { ...this.stats, queued: this.queue.length } }]);
  }

  /** A sink's pipeline is throttled while this connection's queue is full. */
  register(pipeline: Pipeline): void {
    this.pipelines.add(pipeline);
    if (this.paused) pipeline.throttle(this, true);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues one Slack message (an object: `text`, `blocks`, `attachments`, ...). */
  consume(message: object, receipt?: Receipt): void {
    this.queue.push({ body: JSON.stringify(message), receipt });
    this.updatePause();
    if (!this.sending) void this.loader();
  }

  private updatePause(): void {
    const full = this.queue.length >= this.maxQueue;
    if (full === this.paused) return;
    this.paused = full;
    for (const p of this.pipelines) p.throttle(this, full);
    this.app.pubsub.publish(full ? "SlackConnection.pause!" : "SlackConnection.unpause!", { connection: this });
  }

  private async loader(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue[0]!;
        await this.send(item);
        this.queue.shift();
        this.updatePause();
      }
    } finally {
      this.sending = false;
      this.idle.wakeAll();
    }
  }

  private async send(item: Queued): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let wait = this.retryDelay;
      let problem: string;
      try {
        const signal = this.timeout > 0 ? AbortSignal.timeout(this.timeout * 1000) : undefined;
        const response = await fetch(this.hookUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: item.body, ...(signal ? { signal } : {}) });
        const text = await response.text().catch(() => "");
        if (response.ok) {
          this.stats.sent++;
          item.receipt?.settle();
          return;
        }
        problem = `HTTP ${response.status} ${text}`.trim();
        if (response.status === 429) {
          this.stats.rate_limited++;
          const after = Number(response.headers.get("retry-after"));
          if (Number.isFinite(after) && after >= 0 && response.headers.has("retry-after")) wait = after;
        } else if (response.status < 500) {
          this.fail(item, problem);
          return;
        }
      } catch (e) {
        problem = toError(e).message;
      }
      if (this.stopped || (this.maxRetries >= 0 && attempt >= this.maxRetries)) {
        this.fail(item, `${problem} (gave up after ${attempt + 1} attempts)`);
        return;
      }
      this.stats.retries++;
      this.log.warn(`Slack webhook: ${problem}; retrying in ${wait} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait * 1000);
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = null;
    }
  }

  private fail(item: Queued, problem: string): void {
    this.stats.failed++;
    this.log.error(`Slack webhook refused a message: ${problem}`);
    item.receipt?.fail(new Error(`Slack webhook: ${problem}`));
  }

  /** Resolves when every queued message was sent (or failed). */
  whenIdle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return this.idle.wait();
  }

  /** Sends what is queued (a message being retried gets one last attempt), then stops. */
  override async finalize(): Promise<void> {
    this.stopped = true;
    this.wakeRetry?.();
    await this.whenIdle();
  }
}
