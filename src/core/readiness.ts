import type { Pipeline } from "./pipeline.js";
import { Waiters } from "./waiters.js";

/** Throttle key used while too many asynchronous events are in flight. */
const ASYNC_THROTTLE = Symbol("async concurrency limit");

/**
 * Whether a pipeline's sources may go on: started, no error, no throttle (its own, or one of a
 * pipeline it feeds, propagated through `link`). `ready()` is what sources await.
 */
export class ReadyGate {
  private readyNow = false;
  private readonly reasons = new Set<unknown>();
  private readonly ancestors = new Set<Pipeline>();
  private readyPromise: Promise<void> | null = null;
  private resolveReady: (() => void) | null = null;
  private chilloutCounter = 0;

  constructor(
    private readonly chilloutTrigger: number,
    /** True when nothing but throttles stops the pipeline (started, no error). */
    private readonly runnable: () => boolean,
    private readonly changed: (ready: boolean) => void,
  ) {}

  get isReady(): boolean {
    return this.readyNow;
  }

  get throttles(): ReadonlySet<unknown> {
    return this.reasons;
  }

  /** See Pipeline.ready(). */
  ready(): Promise<void> | undefined {
    if (!this.readyNow) return this.readyPromise ?? this.makeReadyPromise();
    if (++this.chilloutCounter < this.chilloutTrigger) return undefined;
    this.chilloutCounter = 0;
    return new Promise((resolve) => setImmediate(resolve));
  }

  private makeReadyPromise(): Promise<void> {
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    return this.readyPromise;
  }

  throttle(who: unknown, enable: boolean): void {
    if (enable) this.reasons.add(who);
    else this.reasons.delete(who);
    for (const ancestor of this.ancestors) ancestor.throttle(who, enable);
    this.evaluate();
  }

  link(ancestor: Pipeline): void {
    this.ancestors.add(ancestor);
    for (const who of this.reasons) ancestor.throttle(who, true);
  }

  unlink(ancestor: Pipeline): void {
    this.ancestors.delete(ancestor);
    for (const who of this.reasons) ancestor.throttle(who, false);
  }

  evaluate(): void {
    const ready = this.reasons.size === 0 && this.runnable();
    if (ready === this.readyNow) return;
    this.readyNow = ready;
    if (ready) {
      const resolve = this.resolveReady;
      this.readyPromise = null;
      this.resolveReady = null;
      resolve?.();
    }
    this.changed(ready);
  }

  /** The throttles, named for the web API. */
  describe(): string[] {
    return [...this.reasons].map(describeThrottle);
  }
}

function describeThrottle(who: unknown): string {
  if (who === ASYNC_THROTTLE) return "async concurrency limit";
  if (typeof who === "object" && who !== null && "locateAddress" in who && typeof who.locateAddress === "function") {
    return String((who as { locateAddress(): string }).locateAddress());
  }
  return String(who);
}

/**
 * Events awaiting an asynchronous processor or generator: at `limit` the pipeline throttles
 * (`async_concurency_limit`); a graceful stop waits until none is left.
 */
export class InFlight {
  private n = 0;
  private readonly idle = new Waiters();

  constructor(
    private readonly limit: number,
    private readonly gate: ReadyGate,
  ) {}

  get count(): number {
    return this.n;
  }

  started(): void {
    if (++this.n === this.limit) this.gate.throttle(ASYNC_THROTTLE, true);
  }

  finished(): void {
    if (this.n-- === this.limit) this.gate.throttle(ASYNC_THROTTLE, false);
    if (this.n === 0) this.idle.wakeAll();
  }

  whenIdle(): Promise<void> {
    if (this.n === 0) return Promise.resolve();
    return this.idle.wait();
  }
}
