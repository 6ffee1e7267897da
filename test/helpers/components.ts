/** Small components for the project's own tests. */
import {
  BSPumpApplication,
  Config,
  Processor,
  Receipt,
  ReceiptTally,
  Sink,
  Source,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
} from "../../src/index.js";

export function testApp(ini = ""): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "test.conf"), handleSignals: false });
  if (!process.env.BSPUMP_TEST_LOGS) app.logs.writer = () => {};
  return app;
}

const tracked: BSPumpApplication[] = [];

/**
 * A test app that logs errors only and is stopped by stopApps(), for tests against real servers
 * (where a failed test must not leave an app running, or the file never ends).
 */
export function trackedApp(): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<test>"), handleSignals: false });
  app.logs.defaultLevel = "error";
  tracked.push(app);
  return app;
}

/** Stops every app trackedApp() made that still runs. */
export function stopApps(): void {
  for (const app of tracked.splice(0)) if (app.isRunning) app.stop(1);
}

/**
 * Feeds `events` in batches of `batchSize`, one Receipt per batch; records how each batch ended;
 * then stays running until stopped.
 */
export class BatchSource extends Source {
  events: unknown[] = [];
  batchSize = 10;
  readonly batches: { size: number; error: Error | null; settled: number; failed: number }[] = [];
  completions = 0;
  fed = 0;

  async main(): Promise<void> {
    for (let i = 0; i < this.events.length; i += this.batchSize) {
      const batch = this.events.slice(i, i + this.batchSize);
      const receipt = new Receipt((r) => {
        this.completions++;
        this.batches.push({ size: batch.length, error: r.error, settled: r.settledCount, failed: r.failedCount });
      });
      for (const event of batch) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        this.pipeline.process(event, { receipt, n: this.fed++ });
      }
      receipt.seal();
    }
    await this.untilStopped;
  }

  /** How each completed batch ended: null, or its first error. */
  get outcomes(): (Error | null)[] {
    return this.batches.map((b) => b.error);
  }
}

export class CollectSink extends Sink {
  readonly events: unknown[] = [];
  readonly contexts: EventContext[] = [];
  process(context: EventContext, event: unknown): null {
    this.events.push(event);
    this.contexts.push(context);
    return null;
  }
}

/** A sink that buffers and settles receipts only when it flushes (on `flushEvery` events or stop). */
export class BufferedSink extends Sink {
  override readonly settlesReceipts = true;
  readonly written: unknown[] = [];
  private buffer: unknown[] = [];
  private tally = new ReceiptTally();
  flushEvery = Infinity;
  failNextFlush: Error | null = null;

  process(context: EventContext, event: unknown): null {
    this.buffer.push(event);
    this.tally.add(context.receipt);
    if (this.buffer.length >= this.flushEvery) this.flush();
    return null;
  }

  flush(): void {
    if (this.failNextFlush) {
      this.tally.failAll(this.failNextFlush);
      this.failNextFlush = null;
      this.buffer = [];
      return;
    }
    this.written.push(...this.buffer);
    this.buffer = [];
    this.tally.settleAll();
  }

  override async stop(): Promise<void> {
    this.flush();
  }
}

/** Throws for events matching `fails`. */
export class FailOn extends Processor {
  constructor(
    app: Application,
    pipeline: Pipeline,
    private readonly fails: (event: unknown) => boolean,
    options: ComponentOptions = {},
  ) {
    super(app, pipeline, options);
  }
  process(_context: EventContext, event: unknown): unknown {
    if (this.fails(event)) throw new Error(`bad event ${JSON.stringify(event)}`);
    return event;
  }
}

export class Fn extends Processor {
  constructor(
    app: Application,
    pipeline: Pipeline,
    private readonly fn: (event: unknown, context: EventContext) => unknown,
    options: ComponentOptions = {},
  ) {
    super(app, pipeline, options);
  }
  process(context: EventContext, event: unknown): unknown {
    return this.fn(event, context);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `condition()` holds (sync or async; checked every `everyMs`), or fails after
 * `timeoutMs` naming `what`. A synchronous condition is not awaited. Conditions that ask a server
 * or read files want a longer `everyMs`.
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10000, what = "condition", everyMs = 5): Promise<void> {
  const start = Date.now();
  for (;;) {
    const held = condition();
    if (typeof held === "boolean" ? held : await held) return;
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Runs the app until `done()` holds, then stops it; returns the exit code. */
export async function runUntil(app: Application, done: () => boolean, timeoutMs = 10000): Promise<number> {
  const running = app.run();
  try {
    await until(done, timeoutMs);
  } finally {
    app.stop();
  }
  return running;
}
