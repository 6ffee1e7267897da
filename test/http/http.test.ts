import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pipeline, Processor, RunOnceTrigger, type EventContext } from "../../src/core/index.js";
import {
  ClientError,
  HTTPClientCSVSource,
  HTTPClientLineSource,
  HTTPClientSink,
  HTTPClientSource,
  HTTPClientTextSource,
  WebServiceSink,
  WebServiceSource,
  type HTTPABCClientSource,
} from "../../src/http/index.js";
import { BatchSource, BufferedSink, CollectSink, runUntil, sleep, testApp, until } from "../helpers/components.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(parts).toString()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function runSource(make: (app: ReturnType<typeof testApp>, p: Pipeline) => HTTPABCClientSource) {
  const app = testApp();
  const pipeline = new Pipeline(app, "P");
  const source = make(app, pipeline).on(new RunOnceTrigger(app));
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  pipeline.pubsub.subscribe("bspump.pipeline.error!", () => app.stop());
  const code = await app.run();
  return { code, pipeline, sink, source };
}

test("HTTP client sources: bytes, text (charset), lines, CSV; headers are sent by every subclass", async () => {
  const { url, close } = await serve((req, res) => {
    if (req.headers["x-token"] !== "secret") {
      res.writeHead(403).end();
      return;
    }
    switch (req.url) {
      case "/bytes":
        res.writeHead(200).end(Buffer.from([0, 1, 2, 255]));
        return;
      case "/text":
        res.writeHead(200, { "Content-Type": "text/plain; charset=iso-8859-1" }).end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
        return;
      case "/lines":
        res.writeHead(200, { "Content-Type": "text/plain" });
        // Lines split across writes, a CRLF line, and a final line without newline.
        res.write("alpha\nbe");
        setTimeout(() => res.end("ta  \r\ngamma\n\ndelta"), 20);
        return;
      case "/csv":
        res.writeHead(200, { "Content-Type": "text/csv" }).end('id,name\n1,"Smith, Ann"\n2,Bob\n');
        return;
    }
    res.writeHead(404).end();
  });
  try {
    const headers = { "X-Token": "secret" };
    const bytes = await runSource((app, p) => new HTTPClientSource(app, p, { headers, config: { url: `${url}/bytes` } }));
    assert.deepEqual(bytes.sink.events, [Buffer.from([0, 1, 2, 255])]);
    const text = await runSource((app, p) => new HTTPClientTextSource(app, p, { headers, config: { url: `${url}/text` } }));
    assert.deepEqual(text.sink.events, ["caf\u00e9"]);
    const lines = await runSource((app, p) => new HTTPClientLineSource(app, p, { headers, config: { url: `${url}/lines` } }));
    assert.deepEqual(lines.sink.events, ["alpha", "beta", "gamma", "", "delta"]);
    const csv = await runSource((app, p) => new HTTPClientCSVSource(app, p, { headers, config: { url: `${url}/csv` } }));
    assert.deepEqual(csv.sink.events, [
      { id: "1", name: "Smith, Ann" },
      { id: "2", name: "Bob" },
    ]);
    for (const r of [bytes, text, lines, csv]) assert.equal(r.pipeline.isError(), false);
  } finally {
    await close();
  }
});

test("HTTP client source: retries after fail_chilldown; max_failed_retries failures in a row is a ClientError", async () => {
  let calls = 0;
  const { url, close } = await serve((req, res) => {
    calls++;
    if (req.url === "/flaky" && calls <= 2) res.writeHead(500).end("busy");
    else if (req.url === "/flaky") res.writeHead(203).end("ok");
    else res.writeHead(502).end();
  });
  try {
    const ok = await runSource((app, p) => new HTTPClientTextSource(app, p, { config: { url: `${url}/flaky`, fail_chilldown: 0.05, response_code: "200, 203" } }));
    assert.equal(calls, 3);
    assert.deepEqual(ok.sink.events, ["ok"]);
    assert.equal(ok.pipeline.isError(), false);
    assert.equal(ok.pipeline.eventIn, 1, "failures are not counted as events (BSPump's quirk)");
    calls = 0;
    const bad = await runSource((app, p) => new HTTPClientSource(app, p, { config: { url: `${url}/down`, fail_chilldown: 0.05, max_failed_retries: 3 } }));
    assert.equal(calls, 3);
    assert.equal(bad.pipeline.isError(), true);
    assert.ok(bad.pipeline.error!.error instanceof ClientError);
    // Connection refused counts as a failure too.
    await close();
    const refused = await runSource((app, p) => new HTTPClientSource(app, p, { config: { url: `${url}/x`, fail_chilldown: 0.01, max_failed_retries: 2 } }));
    assert.ok(refused.pipeline.error?.error instanceof ClientError);
  } finally {
    await close().catch(() => {});
  }
});

function webPipeline(config: Record<string, string | number>, sinkFactory?: (app: ReturnType<typeof testApp>, p: Pipeline) => Processor | BufferedSink | WebServiceSink) {
  const app = testApp();
  const pipeline = new Pipeline(app, "Web");
  const source = new WebServiceSource(app, pipeline, { config: { listen: "127.0.0.1 0", path: "/events", ...config } });
  const sink = new BufferedSink(app, pipeline);
  pipeline.build(source, sinkFactory ? (sinkFactory(app, pipeline) as BufferedSink) : sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  return { app, pipeline, source, sink, running };
}

test("WebServiceSource: answers 200 only once the sink settled the events; 503 while throttled; 400/404/405/413; 500 on a failed write", async () => {
  const { app, pipeline, source, sink, running } = webPipeline({ format: "ndjson", max_body: 1000, retry_after: 7 });
  await until(() => source.port !== 0);
  const url = `http://127.0.0.1:${source.port}/events`;
  let answered = false;
  const pending = fetch(url, { method: "POST", body: '{"a":1}\n{"a":2}\n\n{"a":3}\n' }).then(async (r) => {
    answered = true;
    return { status: r.status, body: (await r.json()) as unknown };
  });
  await until(() => pipeline.eventOut === 3);
  await sleep(200);
  assert.equal(answered, false, "no answer while the events sit in the sink's buffer");
  sink.flush();
  assert.deepEqual(await pending, { status: 200, body: { received: 3 } });
  assert.deepEqual(sink.written, [{ a: 1 }, { a: 2 }, { a: 3 }]);

  pipeline.throttle("test", true);
  const throttled = await fetch(url, { method: "POST", body: '{"a":4}' });
  assert.equal(throttled.status, 503);
  assert.equal(throttled.headers.get("retry-after"), "7");
  pipeline.throttle("test", false);

  const bad = await fetch(url, { method: "POST", body: '{"a":5}\n{oops\n' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /line 2/);
  assert.equal((await fetch(`http://127.0.0.1:${source.port}/other`, { method: "POST", body: "{}" })).status, 404);
  assert.equal((await fetch(url)).status, 405);
  assert.equal((await fetch(url, { method: "POST", body: "x".repeat(2000) })).status, 413);
  assert.equal(pipeline.eventIn, 3, "refused requests put nothing into the pipeline");

  sink.failNextFlush = new Error("disk full");
  const failing = fetch(url, { method: "POST", body: '{"a":6}' });
  await until(() => pipeline.eventOut === 4);
  sink.flush();
  const failed = await failing;
  assert.equal(failed.status, 500);
  assert.match(((await failed.json()) as { error: string }).error, /disk full/);
  app.stop();
  assert.equal(await running, 0);
});

test("WebServiceSource → processor → WebServiceSink: the pipeline's output is the response body; bearer token", async () => {
  class Upper extends Processor {
    process(_c: EventContext, e: unknown): unknown {
      return `${String(e).toUpperCase()}\n`;
    }
  }
  const { app, source, running } = webPipeline({ format: "lines", token: "s3cret" }, (app, p) => {
    p.appendProcessor(new Upper(app, p));
    return new WebServiceSink(app, p, { config: { content_type: "text/plain" } });
  });
  await until(() => source.port !== 0);
  const url = `http://127.0.0.1:${source.port}/events`;
  assert.equal((await fetch(url, { method: "POST", body: "a" })).status, 401);
  const r = await fetch(url, { method: "POST", body: "one\r\ntwo\nthree", headers: { Authorization: "Bearer s3cret" } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/plain");
  assert.equal(await r.text(), "ONE\nTWO\nTHREE\n");
  app.stop();
  assert.equal(await running, 0);
});

test("HTTPClientSink: JSON batches, Retry-After honoured, receipts settled on 2xx; a permanent failure stops the pipeline", async () => {
  const bodies: unknown[][] = [];
  let calls = 0;
  const { url, close } = await serve((req, res, body) => {
    calls++;
    if (calls === 2) {
      res.writeHead(429, { "Retry-After": "0" }).end();
      return;
    }
    if (req.url === "/reject") {
      res.writeHead(400).end("bad");
      return;
    }
    bodies.push(JSON.parse(body) as unknown[]);
    res.writeHead(200).end("{}");
  });
  try {
    const app = testApp();
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    const n = 2500;
    source.events = Array.from({ length: n }, (_, i) => ({ i }));
    source.batchSize = 250;
    const sink = new HTTPClientSink(app, pipeline, { config: { url: `${url}/in`, batch_size: 1000, flush_period: 0.1, retry_delay: 5 } });
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    await runUntil(app, () => source.completions === n / 250);
    assert.deepEqual(bodies.map((b) => b.length), [1000, 1000, 500]);
    assert.deepEqual(bodies.flat(), source.events);
    assert.equal(calls, 4, "one retry after the 429");
    assert.ok(source.batches.every((b) => b.error === null && b.settled === b.size));
    assert.equal(sink.stats.retries, 1);

    const app2 = testApp();
    const p2 = new Pipeline(app2, "P2");
    const s2 = new BatchSource(app2, p2);
    s2.events = [{ x: 1 }, { x: 2 }];
    p2.build(s2, new HTTPClientSink(app2, p2, { config: { url: `${url}/reject`, batch_size: 10, flush_period: 0.05 } }));
    app2.pumpService.addPipeline(p2);
    await runUntil(app2, () => p2.isError());
    assert.equal(s2.batches[0]!.failed, 2);
    assert.match(s2.batches[0]!.error!.message, /HTTP 400/);
  } finally {
    await close();
  }
});

test("WebServiceSource: a request whose events are flushed on stop gets 200; one never settled gets 503 at stop", async () => {
  const { app, source, sink, running } = webPipeline({ format: "text" });
  await until(() => source.port !== 0);
  const url = `http://127.0.0.1:${source.port}/events`;
  const pending = fetch(url, { method: "POST", body: "flushed on stop" });
  await until(() => sink.written.length === 0 && source.stats.events === 1);
  app.stop();
  assert.equal((await pending).status, 200);
  assert.deepEqual(sink.written, ["flushed on stop"]);
  assert.equal(await running, 0);

  class NeverSettles extends BufferedSink {
    override async stop(): Promise<void> {}
  }
  const second = webPipeline({ format: "text" }, (app, p) => new NeverSettles(app, p));
  await until(() => second.source.port !== 0);
  const stuck = fetch(`http://127.0.0.1:${second.source.port}/events`, { method: "POST", body: "never" });
  await until(() => second.source.stats.events === 1);
  second.app.stop();
  const r = await stuck;
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("retry-after"), "1");
  assert.equal(await second.running, 0);
});
