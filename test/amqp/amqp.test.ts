// @services rabbitmq
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Pipeline, Processor, RunOnceTrigger, type Application, type EventContext } from "../../src/core/index.js";
import { AMQPFullMessageSource, AMQPSink, AMQPSource } from "../../src/amqp/index.js";
import { until } from "../helpers/components.js";
import { Broker, consume, makeApp, startPipeline, stopApps } from "./helpers.js";

let broker: Broker;
before(async () => {
  broker = await Broker.open();
});
after(async () => {
  stopApps();
  await broker.close();
});

class Upper extends Processor {
  process(_c: EventContext, event: unknown): unknown {
    return (event as Buffer).toString().toUpperCase();
  }
}

test("round trip queue → AMQPSource → AMQPSink → queue: every message once, source queue fully acked", () =>
  broker.withQueues(["in", "out"], async (inQ, outQ) => {
    const n = 3000;
    await broker.publish(inQ, Array.from({ length: n }, (_, i) => `m${i}`));
    const { app, parts: [source, , sink], running } = startPipeline((app, pipeline) => [
      new AMQPSource(app, pipeline, "AMQPConnection", { config: { queue: inQ, prefetch_count: 200 } }),
      new Upper(app, pipeline),
      new AMQPSink(app, pipeline, "AMQPConnection", { config: { exchange: "", routing_key: outQ, max_unconfirmed: 100 } }),
    ]);
    await until(() => sink.counts.confirmed === n && source.counts.acked > 0 && source.counts.received === n, 60_000, "all confirmed");
    await until(async () => (await broker.check(inQ)).messageCount === 0, 20_000);
    app.stop();
    assert.equal(await running, 0);
    const got = await broker.drain(outQ);
    assert.equal(got.length, n);
    assert.deepEqual(new Set(got.map((m) => m.body)), new Set(Array.from({ length: n }, (_, i) => `M${i}`)));
    assert.equal(got[0]!.contentType, "text/plain");
    // Nothing left unacked: after the consumer closed, the input queue is empty.
    assert.deepEqual(await broker.check(inQ), { messageCount: 0, consumerCount: 0 });
    assert.equal(sink.counts.refused, 0);
  }));

test("messages are acknowledged only when their receipts settle; unsettled ones are redelivered after a stop", () =>
  broker.withQueues(["hold"], async (q) => {
    await broker.publish(q, Array.from({ length: 40 }, (_, i) => `h${i}`));
    const { app, source, sink, running } = consume(q);
    await until(() => sink.events.length === 40, 20_000, "40 delivered");
    // Delivered but not settled: none is acked, so the broker keeps them all (none ready, all unacked).
    assert.equal(source.counts.acked, 0);
    assert.equal((await broker.check(q)).messageCount, 0);
    app.stop();
    assert.equal(await running, 0);
    // The channel closed with the messages unacked: the broker has them all again, marked redelivered.
    const again = await broker.drain(q);
    assert.equal(again.length, 40);
    assert.ok(again.every((m) => m.redelivered));
  }));

test("settled in part: what settled is acked, the rest is redelivered; a failed receipt is nacked and requeued", () =>
  broker.withQueues(["part"], async (q) => {
    const { app, source, sink, running } = consume(q);
    await until(async () => (await broker.check(q)).consumerCount === 1, 20_000, "consuming");
    await broker.publish(q, ["a1", "a2", "a3"]);
    await until(() => sink.events.length === 3, 20_000);
    sink.release();
    await until(() => source.counts.acked >= 1, 20_000, "acked");
    await broker.publish(q, ["b1", "b2"]);
    await until(() => sink.events.length === 5, 20_000);
    sink.release(new Error("write failed"));
    await until(() => source.counts.nacked >= 1, 20_000, "nacked");
    // Requeued messages come back to the (still running) consumer, redelivered.
    await until(() => sink.events.length === 7, 20_000, "redelivered");
    sink.hold = false;
    sink.release();
    app.stop();
    assert.equal(await running, 0);
    assert.deepEqual(sink.events.map(String), ["a1", "a2", "a3", "b1", "b2", "b1", "b2"]);
    assert.deepEqual(await broker.check(q), { messageCount: 0, consumerCount: 0 });
  }));

test("killed mid-way (SIGKILL): everything not settled is redelivered, nothing lost", () =>
  broker.withQueues(["kill"], async (q) => {
    const n = 500;
    await broker.publish(q, Array.from({ length: n }, (_, i) => `k${i}`));
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./kill-child.ts", import.meta.url)), q, String(n)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    try {
      await until(() => out.includes("settled "), 60_000, "child settled some");
    } finally {
      child.kill("SIGKILL");
    }
    await exited;
    const settled = Number(/settled (\d+) of (\d+)/.exec(out)![1]);
    assert.equal(Number(/settled (\d+) of (\d+)/.exec(out)![2]), n);
    assert.ok(settled > 0 && settled <= 100, `settled ${settled}`);
    console.log(`# kill test: ${settled} of ${n} acked before SIGKILL, ${n - settled} redelivered`);
    const left = await broker.drain(q);
    // The child settled (and acked) `settled` messages and held the rest: those all come back.
    assert.equal(left.length, n - settled);
    assert.ok(left.every((m) => m.redelivered));
    const expected = new Set(Array.from({ length: n - settled }, (_, i) => `k${settled + i}`));
    assert.deepEqual(new Set(left.map((m) => m.body)), expected);
  }));

test("a hard error nacks with requeue and pauses consuming; a soft error acks and drops the bad message", () =>
  broker.withQueues(["err"], async (q) => {
    await broker.publish(q, ["ok1", "bad", "ok2"]);
    class Check extends Processor {
      process(_c: EventContext, e: unknown): unknown {
        if (String(e) === "bad") throw new Error("bad input");
        return e;
      }
    }
    const check = (app: Application, pipeline: Pipeline) => [new Check(app, pipeline)];
    {
      const { app, pipeline, running } = consume(q, { hold: false, processors: check });
      await until(() => pipeline.isError(), 20_000, "error state");
      // The pipeline is in error: its consumer is cancelled, the failed batch is back in the queue.
      await until(async () => (await broker.check(q)).consumerCount === 0, 20_000, "consumer paused");
      app.stop();
      await running;
      assert.match(pipeline.error!.error.message, /bad input/);
    }
    class Soft extends Pipeline {
      override handleError(): boolean {
        return true;
      }
    }
    const { app, pipeline, sink, running } = consume(q, { hold: false, processors: check, makePipeline: (app) => new Soft(app, "S") });
    await until(() => pipeline.warnings === 1 && sink.events.length >= 1 && !sink.events.map(String).includes("ok1") === false, 20_000);
    await until(async () => (await broker.check(q)).messageCount === 0 && sink.events.map(String).includes("ok2"), 20_000, "all consumed");
    app.stop();
    await running;
    assert.deepEqual(await broker.check(q), { messageCount: 0, consumerCount: 0 });
    assert.ok(!sink.events.map(String).includes("bad"));
    assert.equal(pipeline.warnings, 1);
  }));

test("while the pipeline is throttled the consumer is cancelled; messages wait in the queue and flow after", () =>
  broker.withQueues(["thr"], async (q) => {
    const { app, pipeline, sink, running } = consume(q, { hold: false });
    await until(async () => (await broker.check(q)).consumerCount === 1, 20_000, "consuming");
    pipeline.throttle("test", true);
    await until(async () => (await broker.check(q)).consumerCount === 0, 20_000, "consumer cancelled");
    await broker.publish(q, Array.from({ length: 25 }, (_, i) => `t${i}`));
    assert.equal((await broker.check(q)).messageCount, 25);
    assert.equal(sink.events.length, 0);
    pipeline.throttle("test", false);
    await until(() => sink.events.length === 25, 20_000, "flowing again");
    app.stop();
    await running;
    assert.deepEqual(await broker.check(q), { messageCount: 0, consumerCount: 0 });
  }));

test("AMQPSink: exchange and routing key from the context, JSON for objects; AMQPFullMessageSource gives [fields, properties, body]", () =>
  broker.withQueues(["ctx1", "ctx2", "src"], async (q1, q2, src) => {
    await broker.publish(src, ['{"to":"1"}', '{"to":"2"}'], { origin: "test" });
    const seen: unknown[] = [];
    class Route extends Processor {
      process(context: EventContext, event: unknown): unknown {
        const [fields, properties, body] = event as [{ routingKey: string }, { headers: Record<string, unknown> }, Buffer];
        seen.push({ rk: fields.routingKey, origin: properties.headers.origin, method: (context["amqp:method"] as { routingKey: string }).routingKey });
        const doc = JSON.parse(body.toString()) as { to: string };
        context["amqp.exchange"] = "";
        context["amqp.routing_key"] = doc.to === "1" ? q1 : q2;
        return { forwarded: doc.to };
      }
    }
    const { app, parts: [, , sink], running } = startPipeline((app, pipeline) => [
      new AMQPFullMessageSource(app, pipeline, "AMQPConnection", { config: { queue: src } }),
      new Route(app, pipeline),
      new AMQPSink(app, pipeline, "AMQPConnection", { config: { exchange: "!context", routing_key: "!context", content_type: "application/json" } }),
    ]);
    await until(() => sink.counts.confirmed === 2, 20_000);
    app.stop();
    await running;
    assert.deepEqual(seen, [
      { rk: src, origin: "test", method: src },
      { rk: src, origin: "test", method: src },
    ]);
    const a = await broker.drain(q1);
    const b = await broker.drain(q2);
    assert.deepEqual(a.map((m) => m.body), ['{"forwarded":"1"}']);
    assert.deepEqual(b.map((m) => m.body), ['{"forwarded":"2"}']);
    assert.equal(a[0]!.contentType, "application/json");
  }));

test("AMQPSink throttles its pipeline until a channel is open and while confirms are outstanding", () =>
  broker.withQueues(["sinkthr"], async (q) => {
    const { app } = makeApp();
    const pipeline = new Pipeline(app, "P");
    const sink = new AMQPSink(app, pipeline, "AMQPConnection", { config: { exchange: "", routing_key: q, max_unconfirmed: 1 } });
    const { IteratorSource } = await import("../../src/common/index.js");
    const n = 300;
    let throttledSeen = 0;
    pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", () => void throttledSeen++);
    pipeline.build(new IteratorSource(app, pipeline, Array.from({ length: n }, (_, i) => `s${i}`)).on(new RunOnceTrigger(app)), sink);
    app.pumpService.addPipeline(pipeline);
    // The run-once trigger stops the app after the cycle; the sink's stop waits for the confirms.
    assert.equal(await app.run(), 0);
    assert.equal(sink.counts.confirmed, n);
    assert.ok(throttledSeen > 10, `throttled ${throttledSeen} times`);
    const got = await broker.drain(q);
    assert.equal(got.length, n);
    assert.deepEqual(got.map((m) => m.body), Array.from({ length: n }, (_, i) => `s${i}`));
  }));

test("a lost connection is reopened with backoff; source and sink resume and every message arrives", () =>
  broker.withQueues(["rc-in", "rc-out"], async (inQ, outQ) => {
    const { app, connection, pipeline, parts: [, sink], running } = startPipeline((app, pipeline) => [
      new AMQPSource(app, pipeline, "AMQPConnection", { config: { queue: inQ } }),
      new AMQPSink(app, pipeline, "AMQPConnection", { config: { exchange: "", routing_key: outQ } }),
    ]);
    await broker.publish(inQ, Array.from({ length: 100 }, (_, i) => `a${i}`));
    await until(() => sink.counts.confirmed === 100, 20_000, "first 100");
    // Cut the TCP connection under amqplib (as a network failure would); each cut takes the connection open at the time.
    const cut = () => (connection.channelModel as unknown as { connection: { stream: { destroy(e: Error): void } } }).connection.stream.destroy(new Error("ECONNRESET (simulated)"));
    cut();
    await until(() => connection.opens === 2, 20_000, "reconnected");
    await broker.publish(inQ, Array.from({ length: 100 }, (_, i) => `b${i}`));
    await until(async () => (await broker.check(outQ)).messageCount >= 200 && (await broker.check(inQ)).messageCount === 0, 30_000, "second 100");
    // Cut it again while messages flow: in-flight publishes fail their receipts and are redelivered.
    await broker.publish(inQ, Array.from({ length: 3000 }, (_, i) => `c${i}`));
    await until(() => sink.counts.confirmed >= 400, 20_000, "flowing");
    cut();
    await until(() => connection.opens === 3, 20_000, "reconnected again");
    await until(async () => (await broker.check(inQ)).messageCount === 0 && (await broker.check(outQ)).messageCount >= 3200, 60_000, "all through");
    await until(() => sink.describe().Unconfirmed === 0, 20_000);
    app.stop();
    assert.equal(await running, 0);
    assert.equal(pipeline.isError(), false);
    console.log(`# reconnect test: sink ${JSON.stringify(sink.counts)}`);
    const got = new Set((await broker.drain(outQ)).map((m) => m.body));
    for (let i = 0; i < 100; i++) {
      assert.ok(got.has(`a${i}`), `a${i}`);
      assert.ok(got.has(`b${i}`), `b${i}`);
    }
    for (let i = 0; i < 3000; i++) assert.ok(got.has(`c${i}`), `c${i}`);
    assert.deepEqual(await broker.check(inQ), { messageCount: 0, consumerCount: 0 });
  }));
