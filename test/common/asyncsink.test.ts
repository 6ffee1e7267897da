import { test } from "node:test";
import assert from "node:assert/strict";
import { RetryableError, type EventContext } from "../../src/core/index.js";
import { AsyncSink } from "../../src/common/index.js";
import { runPipeline } from "../../src/unittest/index.js";

/** Writes each event after a short await; fails on `fail`, asks for a retry once on `retry`. */
class SlowSink extends AsyncSink {
  written: unknown[] = [];
  active = 0;
  maxActive = 0;
  maxQueued = 0;
  throttledSeen = false;
  private retried = false;

  protected async consume(_context: EventContext, event: unknown): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.maxQueued = Math.max(this.maxQueued, this.queued);
    if (this.pipeline.getThrottles().has(this)) this.throttledSeen = true;
    await new Promise((r) => setTimeout(r, 1));
    this.active--;
    if (event === "fail") throw new Error("cannot write this one");
    if (event === "retry" && !this.retried) {
      this.retried = true;
      throw new RetryableError("busy", 0.01);
    }
    this.written.push(event);
  }
}

test("AsyncSink: consume() one event at a time, in order; throttled at output_queue_max_size; nothing lost", async () => {
  let sink: SlowSink | undefined;
  const input = Array.from({ length: 300 }, (_, i) => [{}, i] as const);
  const { pipeline } = await runPipeline(input, (app, p) => [(sink = new SlowSink(app, p, { config: { output_queue_max_size: 20 } }))]);
  await sink!.whenIdle();
  assert.deepEqual(sink!.written, input.map(([, e]) => e));
  assert.equal(sink!.maxActive, 1);
  assert.ok(sink!.throttledSeen, "the pipeline was throttled while the queue was full");
  assert.ok(sink!.maxQueued <= 21, `queue stayed bounded (${sink!.maxQueued})`);
  assert.equal(pipeline.errors, 0);
});

test("AsyncSink: a RetryableError is retried; another failure goes to the error rules with the event itself", async () => {
  let sink: SlowSink | undefined;
  const failed: unknown[] = [];
  const { pipeline } = await runPipeline([[{}, "a"], [{}, "retry"], [{}, "fail"], [{}, "b"]], (app, p) => {
    p.handleError = (_error, _ctx, event) => {
      failed.push(event);
      return true;
    };
    return [(sink = new SlowSink(app, p))];
  });
  await sink!.whenIdle();
  assert.deepEqual(sink!.written, ["a", "retry", "b"]);
  assert.deepEqual(failed, ["fail"]);
  assert.equal(pipeline.warnings, 2, "the retry and the soft error");
  assert.equal(pipeline.errors, 0);
});
