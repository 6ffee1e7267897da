import { test } from "node:test";
import assert from "node:assert/strict";
import { Pipeline, ProcessingError, Sink, Source, Receipt, type EventContext } from "../../src/index.js";
import { BatchSource, BufferedSink, CollectSink, runUntil, sleep, testApp, until } from "../helpers/components.js";

/**
 * A sink that settles receipts itself, like one writing to a server: it holds what it took and,
 * on `answer()`, settles the events the "server" accepted and reports the refused ones through
 * the pipeline's public late-failure path, after `process()` returned.
 */
class LateSink extends Sink {
  override readonly settlesReceipts = true;
  held: { context: EventContext; event: unknown }[] = [];
  refuse: (event: unknown) => boolean = () => false;
  stopped: (() => void) | null = null;

  process(context: EventContext, event: unknown): null {
    this.held.push({ context, event });
    return null;
  }

  answer(): void {
    for (const { context, event } of this.held.splice(0)) {
      if (this.refuse(event)) this.pipeline.eventFailed(context, event, new ProcessingError(`refused ${String(event)}`), this);
      else context.receipt?.settle();
    }
  }

  override async stop(): Promise<void> {
    await sleep(20);
    this.answer();
    this.stopped?.();
  }
}

class SoftPipeline extends Pipeline {
  override handleError(): boolean {
    return true;
  }
}

function late(app = testApp(), PipelineClass: typeof Pipeline = Pipeline): { app: ReturnType<typeof testApp>; p: Pipeline; source: BatchSource; sink: LateSink; warnings: () => number } {
  const p = new PipelineClass(app, "P");
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3];
  const sink = new LateSink(app, p, { id: "Late" });
  sink.refuse = (e) => e === 2;
  p.build(source, sink);
  let published = 0;
  p.pubsub.subscribe("bspump.pipeline.warning!", () => published++);
  return { app, p, source, sink, warnings: () => published };
}

test("late failure, soft (handleError → true): a counted warning, warning! published, the receipt settled; the pipeline goes on", async () => {
  const { app, p, source, sink, warnings } = late(testApp(), SoftPipeline);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => {
    if (sink.held.length === 3) sink.answer();
    return source.completions === 1;
  });
  assert.equal(p.warnings, 1);
  assert.equal(warnings(), 1);
  assert.equal(p.errors, 0);
  assert.equal(p.isError(), false);
  assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
});

test("late failure, hard, no dead letter: the receipt fails and the pipeline enters its error state", async () => {
  const { app, p, source, sink, warnings } = late();
  app.pumpService.addPipeline(p);
  await runUntil(app, () => {
    if (sink.held.length === 3) sink.answer();
    return source.completions === 1;
  });
  assert.equal(p.isError(), true);
  assert.equal(p.error!.error.message, "refused 2");
  assert.equal(p.error!.event, 2);
  assert.equal(p.errors, 1);
  assert.equal(p.warnings, 0);
  assert.equal(warnings(), 0);
  assert.deepEqual(source.batches[0], { size: 3, error: p.error!.error, settled: 2, failed: 1 });
});

test("late failure, dead-letter sink: the record names the component; counted as an error and dead-lettered; the receipt settles", async () => {
  const { app, p, source, sink } = late();
  const dead = new CollectSink(app, p, { id: "Dead" });
  p.deadLetter = dead;
  app.pumpService.addPipeline(p);
  await runUntil(app, () => {
    if (sink.held.length === 3) sink.answer();
    return source.completions === 1;
  });
  assert.equal(p.isError(), false);
  assert.equal(p.errors, 1);
  assert.equal(p.deadLettered, 1);
  assert.deepEqual({ ...(dead.events[0] as Record<string, unknown>), time: 0 }, { pipeline: "P", component: "Late", error: { name: "ProcessingError", message: "refused 2" }, time: 0, event: 2 });
  assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
});

test("late failure, dead-letter pipeline (by id): it gets the record on the same receipt, which waits for its sink", async () => {
  const app = testApp("[pipeline:P]\ndead_letter = DLQ\n");
  const { p, source, sink } = late(app);
  const dlq = new Pipeline(app, "DLQ");
  const dlqSink = new BufferedSink(app, dlq);
  dlq.build(new BatchSource(app, dlq), dlqSink);
  app.pumpService.addPipelines(p, dlq);
  await runUntil(app, () => {
    if (sink.held.length === 3) sink.answer();
    return dlq.eventIn === 1;
  });
  // The DLQ's buffered sink flushed on stop: only then did the batch complete.
  assert.equal((dlqSink.written[0] as { event: unknown; component: string }).event, 2);
  assert.equal((dlqSink.written[0] as { component: string }).component, "Late");
  assert.equal(p.deadLettered, 1);
  assert.equal(source.batches[0]!.error, null);
  assert.equal(source.batches[0]!.failed, 0);
});

test("late failure, async dead-letter sink: the receipt settles only after its Promise resolved; a rejection fails it", async () => {
  for (const outcome of ["resolve", "reject"] as const) {
    const { app, p, source, sink } = late();
    const ctl: { finish: (() => void) | null } = { finish: null };
    class AsyncDead extends Sink {
      process(): Promise<null> {
        return new Promise((resolve, reject) => (ctl.finish = () => (outcome === "resolve" ? resolve(null) : reject(new Error("DLQ down")))));
      }
    }
    p.deadLetter = new AsyncDead(app, p, { id: "AsyncDead" });
    app.pumpService.addPipeline(p);
    await runUntil(app, () => {
      if (sink.held.length === 3) sink.answer();
      return ctl.finish !== null;
    });
    await sleep(20);
    assert.equal(source.completions, 0, `${outcome}: the receipt waits for the dead-letter sink`);
    ctl.finish!();
    await until(() => source.completions === 1);
    if (outcome === "resolve") assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
    else {
      assert.match(source.batches[0]!.error!.message, /DLQ down/);
      assert.match(p.error!.error.message, /Dead-letter target failed: DLQ down/);
    }
  }
});

test("late failure into a dead-letter pipeline records it downstream: the PumpService stops it after this one", async () => {
  const app = testApp("[pipeline:P]\ndead_letter = DLQ\n");
  const { p, sink } = late(app);
  const dlq = new Pipeline(app, "DLQ");
  dlq.build(new BatchSource(app, dlq), new CollectSink(app, dlq));
  const order: string[] = [];
  dlq.pubsub.subscribe("bspump.pipeline.stop!", () => order.push("DLQ stop"));
  sink.stopped = () => order.push("P sink flushed");
  // Registered first: without the recorded edge both would stop together.
  app.pumpService.addPipelines(dlq, p);
  await runUntil(app, () => {
    if (sink.held.length === 3) sink.answer();
    return dlq.eventIn === 1;
  });
  assert.equal(p.downstream.has(dlq), true);
  assert.deepEqual(order, ["P sink flushed", "DLQ stop"]);
});

/** A source that finds bad input among good input, as a file source finds a malformed line. */
class LineSource extends Source {
  lines: string[] = [];
  completions: Receipt[] = [];
  async main(): Promise<void> {
    const receipt = new Receipt((r) => this.completions.push(r));
    this.lines.forEach((line, i) => {
      try {
        this.pipeline.process(JSON.parse(line), { filename: "in.jsonl", line: i + 1, receipt });
      } catch (e) {
        this.pipeline.badInput({ filename: "in.jsonl", line: i + 1, receipt }, line, e as Error, this);
      }
    });
    receipt.seal();
    await this.untilStopped;
  }
}

test("bad input found by a source: one counted warning naming file and line, warning! published; dead-lettered raw, the receipt waits for that", async () => {
  for (const withDead of [false, true]) {
    const app = testApp();
    const p = new Pipeline(app, "P");
    const source = new LineSource(app, p, { id: "Lines" });
    source.lines = ['{"a":1}', "{oops", '{"b":2}'];
    const sink = new CollectSink(app, p);
    const dead = new CollectSink(app, p, { id: "Dead" });
    if (withDead) p.deadLetter = dead;
    p.build(source, sink);
    let published = 0;
    p.pubsub.subscribe("bspump.pipeline.warning!", () => published++);
    app.pumpService.addPipeline(p);
    await runUntil(app, () => source.completions.length === 1);
    assert.deepEqual(sink.events, [{ a: 1 }, { b: 2 }]);
    assert.equal(p.warnings, 1, "one warning, not two (the warn record is the count)");
    assert.equal(published, 1);
    assert.equal(p.isError(), false);
    assert.match(p.recentLogs.find((r) => r.level === "warn")!.msg, /Bad input \(in\.jsonl:2\)/);
    assert.equal(source.completions.length, 1);
    assert.equal(source.completions[0]!.error, null);
    if (withDead) {
      assert.equal(p.deadLettered, 1);
      const record = dead.events[0] as { component: string; event: unknown; error: { message: string } };
      assert.equal(record.component, "Lines");
      assert.equal(record.event, "{oops");
      assert.match(record.error.message, /in\.jsonl:2/);
      assert.equal(source.completions[0]!.settledCount, 3, "the raw line counted on the receipt until the dead-letter sink took it");
    } else {
      assert.equal(p.deadLettered, 0);
      assert.equal(source.completions[0]!.settledCount, 2);
    }
  }
});

test("countWarning counts without logging; the counters are read-only", () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  p.countWarning();
  p.countWarning();
  assert.equal(p.warnings, 2);
  assert.equal(p.recentLogs.length, 0);
  assert.throws(() => {
    (p as unknown as { warnings: number }).warnings = 0;
  }, TypeError);
  assert.equal(p.warnings, 2);
});

test("hard errors while already in error: counted in errors, logged as a count at most every 5 s and at the clear", () => {
  const app = testApp();
  const logs: string[] = [];
  app.logs.writer = (r) => logs.push(r.msg);
  let now = 1000;
  app.clock = () => now;
  const pipeline = new Pipeline(app, "P");
  const about = () => logs.filter((m) => /processing error|already set|more events failed|Error cleared/.test(m));
  pipeline.setError(null, 0, new ProcessingError("first"));
  for (let i = 1; i <= 1000; i++) pipeline.setError(null, i, new ProcessingError(`again ${i}`));
  assert.equal(pipeline.errors, 1001);
  assert.deepEqual(about(), ["Pipeline stopped due to a processing error: first (ProcessingError)"]);
  assert.equal(pipeline.error?.event, 1000, "the error state holds the latest error, as before");
  now += 5;
  pipeline.setError(null, 1001, new ProcessingError("later"));
  assert.equal(about().length, 2);
  assert.equal(about()[1], "1001 more events failed while the pipeline was in error (last: later)");
  for (let i = 0; i < 7; i++) pipeline.setError(null, i, new ProcessingError("more"));
  pipeline.setError(null, null, null);
  assert.equal(about()[2], "Error cleared (7 more events failed while the pipeline was in error)");
  assert.equal(pipeline.errors, 1009);
  // A new error state logs its first error again.
  pipeline.setError(null, 0, new ProcessingError("second"));
  assert.equal(about().length, 4);
  assert.equal(pipeline.warnings, 0, "the count lines are not warnings");
});
