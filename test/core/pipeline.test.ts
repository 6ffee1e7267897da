import { test } from "node:test";
import assert from "node:assert/strict";
import { Generator, Pipeline, Processor, Receipt, type EventContext } from "../../src/index.js";
import { NullSink } from "../../src/common/index.js";
import { BatchSource, BufferedSink, CollectSink, FailOn, Fn, runUntil, sleep, testApp, until } from "../helpers/components.js";

test("events run through the chain in order; in/out/drop are counted; pipeline context is merged", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  p.context = { site: "prague" };
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3, 4, 5, 6];
  const sink = new CollectSink(app, p);
  p.build(source, new Fn(app, p, (e) => ((e as number) % 3 === 0 ? null : (e as number) * 10)), sink);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual(sink.events, [10, 20, 40, 50]);
  assert.equal(p.eventIn, 6);
  assert.equal(p.eventOut, 4);
  assert.equal(p.eventDrop, 2);
  assert.equal(sink.contexts[0]!.site, "prague");
  assert.deepEqual(source.batches, [{ size: 6, error: null, settled: 6, failed: 0 }]);
});

class Splitter extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    for (const part of String(event).split(",")) this.pipeline.inject(context, part, depth);
  }
}

class SlowSplitter extends Generator {
  async generate(context: EventContext, event: unknown, depth: number): Promise<void> {
    await sleep(2);
    for (const part of String(event).split(",")) this.pipeline.inject(context, part, depth);
  }
}

test("generators feed the next depth in order; children share the parent's receipt", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = ["a,b", "c", "d,e,f"];
  const sink = new CollectSink(app, p);
  p.build(source, new Splitter(app, p), new Fn(app, p, (e) => (e === "e" ? null : String(e).toUpperCase())), sink);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual(sink.events, ["A", "B", "C", "D", "F"]);
  assert.equal(p.processors.length, 2);
  assert.equal(p.eventIn, 3);
  assert.equal(p.eventOut, 5);
  assert.equal(p.eventDrop, 1);
  assert.equal(source.batches[0]!.error, null);
});

test("an async generator keeps the receipt open until it has injected everything", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = ["a,b", "c,d"];
  const sink = new CollectSink(app, p);
  p.build(source, new SlowSplitter(app, p), sink);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual([...sink.events].sort(), ["a", "b", "c", "d"]);
  assert.equal(source.batches[0]!.settled, 2 + 4);
});

test("async processors: the event continues when the promise resolves; the limit throttles the pipeline", async () => {
  const app = testApp("[pipeline:P]\nasync_concurency_limit = 3\n");
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = Array.from({ length: 20 }, (_, i) => i);
  source.batchSize = 20;
  let maxInFlight = 0;
  let notReadySeen = 0;
  p.pubsub.subscribe("bspump.pipeline.not_ready!", () => notReadySeen++);
  const sink = new CollectSink(app, p);
  p.build(
    source,
    new Fn(app, p, async (e) => {
      maxInFlight = Math.max(maxInFlight, p.asyncPending);
      await sleep(1);
      return (e as number) + 100;
    }),
    sink,
  );
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.equal(sink.events.length, 20);
  assert.deepEqual([...(sink.events as number[])].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 100));
  assert.ok(maxInFlight <= 3, `in flight ${maxInFlight}`);
  assert.ok(notReadySeen >= 1, "the pipeline was throttled at the limit");
  assert.equal(source.batches[0]!.settled, 20);
});

test("throttling a linked child pipeline blocks the ancestral pipeline's source", async () => {
  const app = testApp();
  const parent = new Pipeline(app, "Parent");
  const child = new Pipeline(app, "Child");
  const source = new BatchSource(app, parent);
  source.events = Array.from({ length: 100 }, (_, i) => i);
  source.batchSize = 1;
  const sink = new CollectSink(app, parent);
  parent.build(source, sink);
  child.build(new BatchSource(app, child), new NullSink(app, child));
  child.link(parent);
  const blocker = Symbol("slow sink");
  child.throttle(blocker, true);
  app.pumpService.addPipelines(parent, child);
  const running = app.run();
  await sleep(100);
  assert.equal(sink.events.length, 0, "parent source must not feed while the child is throttled");
  assert.equal(parent.isReady(), false);
  child.throttle(blocker, false);
  await until(() => sink.events.length === 100);
  assert.equal(parent.isReady(), true);
  app.stop();
  assert.equal(await running, 0);
});

test("chillout: a timer fires while a source feeds a long synchronous run", async () => {
  const app = testApp("[pipeline:P]\nchillout = 1000\n");
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = Array.from({ length: 200_000 }, (_, i) => i);
  source.batchSize = 200_000;
  let timerFiredAt = -1;
  const sink = new NullSink(app, p);
  p.build(source, sink);
  app.pumpService.addPipeline(p);
  app.pubsub.subscribe("Application.run!", () => setTimeout(() => (timerFiredAt = p.eventIn), 0));
  await runUntil(app, () => source.completions === 1, 30000);
  assert.ok(timerFiredAt >= 0 && timerFiredAt < 200_000, `timer fired after ${timerFiredAt} events`);
});

test("a hard error stops the pipeline until cleared; clearing restarts the sources", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3, 4];
  source.batchSize = 1;
  const sink = new CollectSink(app, p);
  let fail = true;
  p.build(source, new FailOn(app, p, (e) => e === 2 && fail), sink);
  const messages: string[] = [];
  for (const m of ["bspump.pipeline.error!", "bspump.pipeline.clear_error!", "bspump.pipeline.not_ready!", "bspump.pipeline.ready!"]) p.pubsub.subscribe(m, () => messages.push(m));
  app.pumpService.addPipeline(p);
  const running = app.run();
  await until(() => p.isError());
  await sleep(50);
  assert.deepEqual(sink.events, [1]);
  assert.equal(p.isReady(), false);
  assert.equal(p.errors, 1);
  assert.match(String(p.describe().Error), /bad event 2/);
  assert.deepEqual(source.batches.map((b) => b.error?.message ?? null), [null, "bad event 2"]);
  fail = false;
  p.setError(null, null, null);
  await until(() => sink.events.length === 3);
  assert.deepEqual(sink.events, [1, 3, 4]);
  assert.ok(messages.indexOf("bspump.pipeline.error!") < messages.indexOf("bspump.pipeline.clear_error!"));
  app.stop();
  assert.equal(await running, 0);
});

class SoftPipeline extends Pipeline {
  override handleError(error: Error): boolean {
    return error instanceof SyntaxError;
  }
}

test("soft errors (handleError → true) are counted warnings; the event is dropped and its receipt settled", async () => {
  const app = testApp();
  const p = new SoftPipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = ['{"a":1}', "{bad", '{"b":2}'];
  const sink = new CollectSink(app, p);
  p.build(source, new Fn(app, p, (e) => JSON.parse(e as string)), sink);
  let warnings = 0;
  p.pubsub.subscribe("bspump.pipeline.warning!", () => warnings++);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual(sink.events, [{ a: 1 }, { b: 2 }]);
  assert.equal(p.warnings, 1);
  assert.equal(warnings, 1);
  assert.equal(p.isError(), false);
  assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
});

test("a dead-letter sink receives failed events with the error attached, and the pipeline goes on", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const dead = new CollectSink(app, p, { id: "Dead" });
  p.deadLetter = dead;
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3];
  const sink = new CollectSink(app, p);
  p.build(source, new FailOn(app, p, (e) => e === 2, { id: "Picky" }), sink);
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  assert.deepEqual(sink.events, [1, 3]);
  assert.equal(dead.events.length, 1);
  assert.deepEqual({ ...(dead.events[0] as Record<string, unknown>), time: 0 }, { pipeline: "P", component: "Picky", error: { name: "Error", message: "bad event 2" }, time: 0, event: 2 });
  assert.equal(p.isError(), false);
  assert.equal(p.deadLettered, 1);
  assert.deepEqual(source.batches[0], { size: 3, error: null, settled: 3, failed: 0 });
});

test("a dead-letter pipeline (by id, from config) receives failed events", async () => {
  const app = testApp("[pipeline:P]\ndead_letter = DLQ\n");
  const p = new Pipeline(app, "P");
  const dlq = new Pipeline(app, "DLQ");
  const dlqSink = new BufferedSink(app, dlq);
  dlq.build(new BatchSource(app, dlq), dlqSink);
  const source = new BatchSource(app, p);
  source.events = ["x", "y"];
  p.build(source, new FailOn(app, p, (e) => e === "y"), new CollectSink(app, p));
  app.pumpService.addPipelines(p, dlq);
  await runUntil(app, () => p.eventIn === 2);
  // The receipt of "y" waits for the dead-letter pipeline's buffered sink, which flushes on stop.
  assert.equal(source.completions, 1);
  assert.equal((dlqSink.written[0] as { event: unknown }).event, "y");
  // Three settles: "x" by the sink, "y" by the dead-letter pipeline's sink and by the hand-over.
  assert.deepEqual(source.batches[0], { size: 2, error: null, settled: 3, failed: 0 });
});

test("an event that no sink consumes is an 'Incomplete pipeline' error", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = [1];
  p.build(source, new Fn(app, p, (e) => e));
  app.pumpService.addPipeline(p);
  await runUntil(app, () => p.isError());
  assert.match(p.error!.error.message, /Incomplete pipeline 'P'/);
});

test("receipts settle exactly once, and fail when a buffered sink's write fails", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = Array.from({ length: 30 }, (_, i) => i);
  source.batchSize = 10;
  const sink = new BufferedSink(app, p);
  sink.flushEvery = 25;
  p.build(source, sink);
  app.pumpService.addPipeline(p);
  const running = app.run();
  await until(() => p.eventIn === 30);
  assert.equal(source.completions, 2, "two batches were fully written (25 of 30 flushed)");
  sink.failNextFlush = new Error("disk full");
  sink.flush();
  assert.equal(source.completions, 3);
  app.stop();
  await running;
  assert.equal(source.completions, 3, "no receipt completes twice");
  assert.deepEqual(
    source.batches.map((b) => [b.settled, b.failed, b.error?.message ?? null]),
    [
      [10, 0, null],
      [10, 0, null],
      [5, 5, "disk full"],
    ],
  );
});

test("graceful stop: a buffered sink flushes what it holds, every event is written", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = Array.from({ length: 1000 }, (_, i) => i);
  source.batchSize = 100;
  const sink = new BufferedSink(app, p);
  p.build(source, sink);
  app.pumpService.addPipeline(p);
  const code = await runUntil(app, () => p.eventIn === 1000);
  assert.equal(code, 0);
  assert.equal(sink.written.length, 1000);
  assert.equal(source.completions, 10);
  assert.ok(source.batches.every((b) => b.error === null));
});

test("insertBefore / insertAfter / removeProcessor by id; a sink must be last", () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const a = new Fn(app, p, (e) => e, { id: "A" });
  const sink = new NullSink(app, p);
  p.build(new BatchSource(app, p), a, sink);
  assert.equal(p.insertBefore("A", new Fn(app, p, (e) => e, { id: "Before" })), true);
  assert.equal(p.insertAfter("A", new Fn(app, p, (e) => e, { id: "After" })), true);
  assert.equal(p.insertAfter("Nope", new Fn(app, p, (e) => e, { id: "X" })), false);
  assert.deepEqual([...p.iterProcessors()].map((x) => x.id), ["Before", "A", "After", "NullSink"]);
  p.removeProcessor("A");
  assert.deepEqual([...p.iterProcessors()].map((x) => x.id), ["Before", "After", "NullSink"]);
  assert.throws(() => p.removeProcessor("A"), /not found/);
  assert.throws(() => p.appendProcessor(new Fn(app, p, (e) => e, { id: "Late" })), /a sink is the last component/);
});

test("PumpService registers, refuses duplicates and locates by address", () => {
  const app = testApp();
  const svc = app.pumpService;
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p, { id: "Src" });
  const proc = new Fn(app, p, (e) => e, { id: "Proc" });
  class G extends Generator {
    generate(): void {}
  }
  const deep = new NullSink(app, p, { id: "Deep" });
  p.build(source, proc, new G(app, p), deep);
  svc.addPipeline(p);
  assert.throws(() => svc.addPipeline(new Pipeline(app, "P")), /already registered/);
  assert.equal(svc.locate("P"), p);
  assert.equal(svc.locate("P.Proc"), proc);
  assert.equal(svc.locate("P.Deep"), deep);
  assert.equal(svc.locate("P.*Src"), source);
  assert.equal(svc.locate("P.*Nope"), undefined);
  assert.equal(svc.locate("Q.Proc"), undefined);
  assert.throws(() => svc.locateConnection("ES"), /Connection 'ES' not found.*addConnection\(\) before/);
  assert.throws(() => svc.locateLookup("L"), /Lookup 'L' not found/);
});

test("describe() and metrics report components, state and counters", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3];
  p.build(source, new Fn(app, p, (e) => (e === 2 ? null : e), { id: "Filter" }), new NullSink(app, p));
  app.pumpService.addPipeline(p);
  await runUntil(app, () => source.completions === 1);
  const view = p.describe();
  assert.equal(view.Id, "P");
  assert.deepEqual((view.Processors as { Id: string }[][])[0]!.map((x) => x.Id), ["Filter", "NullSink"]);
  assert.deepEqual((view.Sources as { Id: string }[]).map((s) => s.Id), ["BatchSource"]);
  const metrics = view.Metrics as Record<string, number>;
  assert.deepEqual([metrics["event.in"], metrics["event.out"], metrics["event.drop"]], [3, 2, 1]);
  const prom = app.metrics.toPrometheus();
  assert.match(prom, /^bspump_pipeline_event_in_total\{pipeline="P"\} 3$/m);
  assert.match(prom, /^bspump_pipeline_profiler_run_total\{pipeline="P",processor="Filter"\} 3$/m);
  assert.deepEqual(
    p.profile().map((x) => [x.component, x.runs]),
    [
      ["Filter", 3],
      ["NullSink", 2],
    ],
  );
});

test("a Receipt completes once, after seal, when nothing is pending", () => {
  let done = 0;
  const r = new Receipt(() => done++);
  r.add(2);
  r.settle();
  r.seal();
  assert.equal(done, 0);
  r.fail(new Error("x"));
  assert.equal(done, 1);
  assert.equal(r.error?.message, "x");
  assert.throws(() => r.add(), /after the receipt completed/);
  const r2 = new Receipt(() => done++);
  r2.seal();
  assert.equal(done, 2, "an empty batch completes at seal");
  assert.throws(() => new Receipt().settle(), /more often/);
});

class Doubler extends Processor {
  process(_c: EventContext, e: unknown): unknown {
    return (e as number) * 2;
  }
}

test("the harness runs a processor on (context, event) pairs and returns the outputs", async () => {
  const { runProcessor } = await import("../../src/unittest/index.js");
  const result = await runProcessor(Doubler, [
    [null, 1],
    [{ k: "v" }, 2],
  ]);
  assert.deepEqual(result.events, [2, 4]);
  assert.equal(result.output[1]![0].k, "v");
  assert.equal(result.pipeline.isError(), false);
});

test("connections are located by id and class; a definition's args.connection is checked", async () => {
  const { Connection, connectionArgument, locateConnection } = await import("../../src/index.js");
  class AConnection extends Connection {}
  class BConnection extends Connection {}
  const app = testApp();
  const a = app.pumpService.addConnection(new AConnection(app, "A"));
  assert.equal(locateConnection(app, "A", AConnection), a);
  assert.equal(locateConnection(app, a, AConnection), a);
  assert.throws(() => locateConnection(app, "A", BConnection), /Connection 'A' is a AConnection, not a BConnection/);
  assert.throws(() => locateConnection(app, "Nope", AConnection), /Connection 'Nope' not found \(known: A\)/);
  assert.equal(connectionArgument({ args: { connection: "A" } }, "X", AConnection), "A");
  assert.throws(() => connectionArgument({ args: {}, origin: "app.yaml:7" }, "X", AConnection), /app\.yaml:7: args\.connection \(the id of a AConnection\) is required/);
});
