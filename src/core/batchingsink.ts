import type { EventContext } from "./context.js";
import { ProcessingError, toError } from "./errors.js";
import { Sink } from "./processor.js";
import { Receipt, ReceiptTally } from "./receipt.js";
import { ThrottleSwitch } from "./throttleswitch.js";
import { Waiters } from "./waiters.js";

/**
 * When a batching sink flushes and how it sends (names after Redpanda Connect's batching policy:
 * `count`, `byte_size`, `period`).
 */
export interface BatchPolicy {
  /** Events per batch: flush when reached (0: no limit). */
  count: number;
  /** Size of a batch, in the units the sink passes to `added()` (bytes, characters): flush when reached (0: no limit). */
  byteSize: number;
  /** Seconds from a batch's first event to its flush; 0: at the end of the current turn of the event loop; Infinity: only on size and stop. */
  period: number;
  /** Batches sent at once; 1: one at a time, in order (a sink that writes one file needs that). */
  concurrency: number;
  /** What the backlog is counted in, for throttling: batches, events or size units. */
  pendingUnit: "batches" | "events" | "size";
  /** The pipeline is throttled while the backlog (queued and being sent) is above this, until it is down to half. */
  maxPending: number;
  /** Retries of a send that threw a RetryableError (Infinity: until it succeeds); then the batch fails. */
  retries: number;
  /** Seconds before the first retry, doubling up to `maxRetryDelay`; a RetryableError's `after` wins. */
  retryDelay: number;
  maxRetryDelay: number;
}

/** What `batching()` takes: the period and the backlog limit; the rest defaults to `BATCH_DEFAULTS`. */
export type BatchOptions = Partial<BatchPolicy> & Pick<BatchPolicy, "period" | "maxPending">;

/** No count or size limit, one batch at a time, backlog in batches, no retries. */
export const BATCH_DEFAULTS: Omit<BatchPolicy, "period" | "maxPending"> = { count: 0, byteSize: 0, concurrency: 1, pendingUnit: "batches", retries: 0, retryDelay: 1, maxRetryDelay: 30 };

/** Thrown by `send()` for a failure worth retrying (lost connection, 5xx, 429): the batch is sent again after a delay. */
export class RetryableError extends Error {
  override name = "RetryableError";
  constructor(
    message: string,
    /** Seconds the server asked to wait (Retry-After), instead of the backoff. */
    readonly after?: number,
  ) {
    super(message);
  }
}

/** A batch handed over for sending: what the sink took from its buffer, and the receipts of its events. */
export interface SentBatch<B> {
  readonly data: B;
  /** Settled by the base after `send()` resolved, unless the sink took it (`tally.take()`) to settle later. */
  readonly tally: ReceiptTally;
  readonly events: number;
  readonly size: number;
}

interface Queued<B> {
  batch: SentBatch<B> | null;
  /** Work run in the queue's order instead of a batch (closing a file after its last write). */
  task: (() => Promise<void>) | null;
  weight: number;
}

/**
 * The loop of every sink that writes in batches: buffer → flush on count, size or period → one
 * receipt tally per batch → send in order or `concurrency` at a time, retrying with backoff → the
 * pipeline throttled (with hysteresis) while the backlog is long or a send is being retried → flush
 * and wait on stop. A sink appends an event to its own buffer in `process()` and calls
 * `this.added(context.receipt, size)` (the one per-event call; nothing is allocated); it implements
 * `takeBatch()` (hand over the buffer, start a new one) and `send()`.
 *
 * Receipts settle when `send()` resolved. `send()` throwing a RetryableError retries; anything else,
 * or the retries used up, calls `sendFailed()`: by default the batch goes through the pipeline's
 * failure path once, as one event (`batchFailed()`).
 */
export abstract class BatchingSink<B> extends Sink {
  override readonly settlesReceipts = true;
  private policy: BatchPolicy | null = null;
  // The policy's limits as the per-event call compares them (Infinity: none).
  private countLimit = Infinity;
  private sizeLimit = Infinity;
  private tally = new ReceiptTally();
  private openEvents = 0;
  private openSize = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: Queued<B>[] = [];
  private sending = 0;
  private pending = 0;
  private retrying = 0;
  private readonly throttleSwitch = new ThrottleSwitch(this.pipeline, this);
  private readonly idle = new Waiters();
  private readonly onTimer = (): void => {
    this.timer = null;
    this.handOver();
  };

  /** Sets the policy; call in the constructor, after reading the config. */
  protected batching(options: BatchOptions): void {
    const policy: BatchPolicy = { ...BATCH_DEFAULTS, ...options };
    this.policy = { ...policy, maxPending: Math.max(1, policy.maxPending), concurrency: Math.max(1, policy.concurrency) };
    this.countLimit = policy.count > 0 ? policy.count : Infinity;
    this.sizeLimit = policy.byteSize > 0 ? policy.byteSize : Infinity;
  }

  /** Hands the open buffer over for sending and starts an empty one. */
  protected abstract takeBatch(): B;

  /** Writes one batch. Resolves when it is written; throws RetryableError to have it sent again. */
  protected abstract send(batch: SentBatch<B>, attempt: number): Promise<void>;

  /** A batch that failed for good (not retryable, or retries used up). */
  protected sendFailed(batch: SentBatch<B>, error: Error): void {
    this.batchFailed(batch.tally, batch.data, error);
  }

  /**
   * The batch as a whole goes through the pipeline's failure path, once: its receipts settle (soft
   * error, dead letter) or fail (hard error) together, after an asynchronous dead-letter target finished.
   */
  protected batchFailed(tally: ReceiptTally, event: unknown, error: Error): void {
    const held = tally.take();
    const receipt = new Receipt((r) => (r.error ? held.failAll(r.error) : held.settleAll()));
    receipt.add();
    this.pipeline.eventFailed({ receipt }, event, error, this);
    receipt.seal();
  }

  /** The per-event call: an event of `size` units was appended to the open buffer. */
  protected added(receipt: EventContext["receipt"], size: number): void {
    this.tally.add(receipt);
    this.openSize += size;
    if (++this.openEvents >= this.countLimit || this.openSize >= this.sizeLimit) this.handOver();
    else if (this.openEvents === 1) this.arm();
  }

  private arm(): void {
    const period = this.policy!.period;
    if (period === Infinity || this.timer !== null) return;
    if (period > 0) {
      this.timer = setTimeout(this.onTimer, period * 1000);
      this.timer.unref();
    } else queueMicrotask(this.onTimer);
  }

  /** Events in the open buffer, not yet handed over. */
  protected get bufferedEvents(): number {
    return this.openEvents;
  }

  /** Hands the open buffer over for sending; resolves when everything handed over was sent (or failed). */
  flush(): Promise<void> {
    this.handOver();
    return this.whenIdle();
  }

  /** Hands the open buffer over without waiting (a sink that must not let a batch grow past a limit, before adding). */
  protected handOver(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.openEvents > 0) {
      const batch: SentBatch<B> = { data: this.takeBatch(), tally: this.tally.take(), events: this.openEvents, size: this.openSize };
      const unit = this.policy!.pendingUnit;
      this.enqueue({ batch, task: null, weight: unit === "batches" ? 1 : unit === "events" ? batch.events : batch.size });
      this.openEvents = 0;
      this.openSize = 0;
    }
  }

  /** Runs `task` after what is queued before it (with concurrency 1: after those batches were sent). */
  protected afterQueued(task: () => Promise<void>): Promise<void> {
    this.enqueue({ batch: null, task, weight: 0 });
    return this.whenIdle();
  }

  private enqueue(item: Queued<B>): void {
    this.queue.push(item);
    this.pending += item.weight;
    this.updateThrottle();
    this.pump();
  }

  private pump(): void {
    const limit = this.policy!.concurrency;
    while (this.sending < limit && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.sending++;
      void this.run(item).finally(() => {
        this.sending--;
        this.pending -= item.weight;
        this.updateThrottle();
        this.pump();
        if (this.sending === 0 && this.queue.length === 0) this.idle.wakeAll();
      });
    }
  }

  private async run(item: Queued<B>): Promise<void> {
    if (item.task !== null) {
      try {
        await item.task();
      } catch (e) {
        this.pipeline.log.error(`${this.id}: ${toError(e).message}`);
      }
      return;
    }
    const batch = item.batch!;
    const p = this.policy!;
    let delay = p.retryDelay;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(batch, attempt);
        if (attempt > 0) this.setRetrying(-1);
        batch.tally.settleAll();
        return;
      } catch (e) {
        const error = toError(e);
        const retry = error instanceof RetryableError && attempt < p.retries;
        if (!retry) {
          if (attempt > 0) this.setRetrying(-1);
          this.sendFailed(batch, error instanceof RetryableError ? new ProcessingError(`${this.id}: ${error.message} (gave up after ${attempt + 1} attempts)`) : error);
          return;
        }
        if (attempt === 0) this.setRetrying(1);
        const wait = (error as RetryableError).after ?? delay;
        this.pipeline.log.warn(`${this.id}: ${error.message}; retrying in ${wait} s`);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        delay = Math.min(p.maxRetryDelay, Math.max(delay * 2, 0.01));
      }
    }
  }

  private setRetrying(change: number): void {
    this.retrying += change;
    this.updateThrottle();
  }

  private updateThrottle(): void {
    const max = this.policy!.maxPending;
    this.throttleSwitch.update(this.retrying > 0 || this.pending > max, this.retrying === 0 && this.pending <= max / 2);
  }

  /** Whether the sink holds the pipeline back now. */
  get throttled(): boolean {
    return this.throttleSwitch.active;
  }

  /** Batches waiting to be sent (not counting those being sent). */
  get queued(): number {
    return this.queue.length;
  }

  /** Resolves when everything handed over was sent (or failed). */
  whenIdle(): Promise<void> {
    if (this.sending === 0 && this.queue.length === 0) return Promise.resolve();
    return this.idle.wait();
  }

  /** Sends what is buffered and waits for it. */
  override async stop(): Promise<void> {
    await this.flush();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queued: this.queue.length, Sending: this.sending, Throttled: this.throttleSwitch.active, Retrying: this.retrying > 0 };
  }
}
