import { test } from "node:test";
import assert from "node:assert/strict";
import { BatchingSink, Pipeline, ProcessingError, RetryableError, type BatchOptions, type BatchPolicy, type EventContext, type SentBatch } from "../../src/index.js";
import { BatchSource, CollectSink, runUntil, sleep, testApp, until } from "../helpers/components.js";

const POLICY: BatchOptions = { period: Infinity, maxPending: 100, retryDelay: 0.01, maxRetryDelay: 0.05 };

/** Batches of events (the event's text length is its size); `write` decides each send's fate. */
class TestSink extends BatchingSink<unknown[]> {
  private buffer: unknown[] = [];
  readonly sent: unknown[][] = [];
  readonly attempts: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  write: (batch: unknown[], attempt: number) => Promise<void> = () => Promise.resolve();
  readonly log: string[] = [];

  constructor(app: ReturnType<typeof testApp>, pipeline: Pipeline, policy: Partial<BatchPolicy>) {
    super(app, pipeline, { id: "Batches" });
    this.batching({ ...POLICY, ...policy });
  }

  firstAt = 0;
  takenAt = 0;

  process(context: EventContext, event: unknown): null {
    if (this.firstAt === 0) this.firstAt = performance.now();
    this.buffer.push(event);
    this.added(context.receipt, String(event).length);
    return null;
  }

  protected takeBatch(): unknown[] {
    if (this.takenAt === 0) this.takenAt = performance.now();
    this.log.push("take");
    const b = this.buffer;
    this.buffer = [];
    return b;
  }

  protected async send(batch: SentBatch<unknown[]>, attempt: number): Promise<void> {
    this.attempts.push(attempt);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await this.write(batch.data, attempt);
      this.sent.push(batch.data);
      this.log.push(`batch ${batch.events}`);
    } finally {
      this.inFlight--;
    }
  }

  task(name: string): Promise<void> {
    return this.afterQueued(async () => {
      this.log.push(name);
    });
  }
}

function setup(events: unknown[], policy: Partial<BatchPolicy>, batchSize = 100): { app: ReturnType<typeof testApp>; p: Pipeline; source: BatchSource; sink: TestSink } {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = events;
  source.batchSize = batchSize;
  const sink = new TestSink(app, p, policy);
  p.build(source, sink);
  app.pumpService.addPipeline(p);
  return { app, p, source, sink };
}

test("BatchingSink flushes on count, on size, and the rest on stop; receipts settle after the send", async () => {
  const byCount = setup([1, 2, 3, 4, 5, 6, 7], { count: 3 });
  await runUntil(byCount.app, () => byCount.sink.sent.length === 2);
  assert.deepEqual(byCount.sink.sent, [[1, 2, 3], [4, 5, 6], [7]]);
  assert.deepEqual(byCount.source.batches, [{ size: 7, error: null, settled: 7, failed: 0 }]);

  const bySize = setup(["aaaa", "bb", "cccc", "d"], { byteSize: 5 });
  await runUntil(bySize.app, () => bySize.sink.sent.length === 2);
  assert.deepEqual(bySize.sink.sent, [["aaaa", "bb"], ["cccc", "d"]]);
});

test("BatchingSink flushes a partial batch `period` seconds after its first event (0: at the end of the turn)", async () => {
  for (const period of [0.15, 0]) {
    const { app, sink } = setup([1, 2], { count: 100, period });
    // A macrotask queued with the last event: a period of 0 hands the batch over before it runs.
    sink.write = () => Promise.resolve();
    const process = sink.process.bind(sink);
    sink.process = (context, event) => {
      const out = process(context, event);
      if (event === 2) setImmediate(() => sink.log.push("next turn"));
      return out;
    };
    await runUntil(app, () => sink.sent.length === 1);
    assert.deepEqual(sink.sent, [[1, 2]]);
    const order = sink.log.filter((l) => l === "take" || l === "next turn");
    if (period > 0) {
      assert.deepEqual(order, ["next turn", "take"]);
      assert.ok(sink.takenAt - sink.firstAt >= 145, `waited ${sink.takenAt - sink.firstAt} ms`);
    } else assert.deepEqual(order, ["take", "next turn"]);
  }
});

test("BatchingSink sends in order with concurrency 1 and at most `concurrency` at once otherwise", async () => {
  for (const concurrency of [1, 3]) {
    const { app, sink } = setup(Array.from({ length: 20 }, (_, i) => i), { count: 2, concurrency });
    sink.write = () => sleep(10);
    await runUntil(app, () => sink.sent.length === 10);
    assert.equal(sink.maxInFlight, concurrency);
    if (concurrency === 1) assert.deepEqual(sink.sent.flat(), Array.from({ length: 20 }, (_, i) => i));
  }
});

test("BatchingSink retries a RetryableError with backoff while the pipeline is throttled; nothing is lost", async () => {
  const { app, p, source, sink } = setup([1, 2, 3], { count: 3, retries: 5 });
  let throttledDuringRetry = false;
  sink.write = async (_b, attempt) => {
    if (attempt > 0 && !p.isReady()) throttledDuringRetry = true;
    if (attempt < 2) throw new RetryableError("server busy");
  };
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual(sink.attempts, [0, 1, 2]);
  assert.equal(throttledDuringRetry, true);
  assert.equal(sink.throttled, false);
  assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
  assert.equal(p.recentLogs.filter((r) => /server busy; retrying in/.test(r.msg)).length, 2);
});

test("BatchingSink: a batch that fails for good goes through the pipeline's error rules once (hard error; dead letter)", async () => {
  const hard = setup([1, 2, 3], { count: 3, retries: 1 });
  hard.sink.write = () => Promise.reject(new RetryableError("still down"));
  await runUntil(hard.app, () => hard.source.completions === 1);
  assert.deepEqual(hard.sink.attempts, [0, 1]);
  assert.match(hard.p.error!.error.message, /Batches: still down \(gave up after 2 attempts\)/);
  assert.equal(hard.p.errors, 1);
  assert.equal(hard.source.batches[0]!.failed, 3);

  const dead = setup([1, 2, 3], { count: 3 });
  const dlq = new CollectSink(dead.app, dead.p, { id: "Dead" });
  dead.p.deadLetter = dlq;
  dead.sink.write = () => Promise.reject(new ProcessingError("refused"));
  await runUntil(dead.app, () => dead.source.completions === 1);
  assert.equal(dead.p.isError(), false);
  assert.equal(dead.p.deadLettered, 1);
  assert.deepEqual((dlq.events[0] as { event: unknown; component: string }).event, [1, 2, 3]);
  assert.deepEqual(dead.source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
});

test("BatchingSink throttles while more than maxPending wait and releases at half (hysteresis)", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const sink = new TestSink(app, p, { count: 2, maxPending: 4 });
  const releases: (() => void)[] = [];
  sink.write = () => new Promise<void>((r) => releases.push(r));
  const throttledAfterBatch: boolean[] = [];
  for (let i = 0; i < 10; i++) {
    sink.process({}, i);
    if (i % 2 === 1) throttledAfterBatch.push(sink.throttled);
  }
  // One batch sending and four queued is not above 4; the fifth is.
  assert.deepEqual(throttledAfterBatch, [false, false, false, false, true]);
  assert.equal(p.getThrottles().has(sink), true);
  const throttledAfterSent: boolean[] = [];
  for (let i = 1; i <= 5; i++) {
    await until(() => releases.length > 0);
    releases.shift()!();
    await until(() => sink.sent.length === i);
    throttledAfterSent.push(sink.throttled);
  }
  // 4 and 3 pending: still throttled; 2 (half of 4): released.
  assert.deepEqual(throttledAfterSent, [true, true, false, false, false]);
  assert.equal(p.getThrottles().size, 0);
});

test("BatchingSink runs afterQueued tasks after the batches queued before them", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const sink = new TestSink(app, p, { count: 2 });
  sink.write = () => sleep(10);
  sink.process({}, 4);
  sink.process({}, 5);
  const done = sink.task("after");
  sink.process({}, 6);
  sink.process({}, 7);
  await done;
  await sink.flush();
  assert.deepEqual(
    sink.log.filter((l) => l !== "take"),
    ["batch 2", "after", "batch 2"],
  );
});
