import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { ConfigError, Pipeline, type Application, type ProcessorBase } from "../../src/core/index.js";
import { HTTPClientWebSocketSink, WebSocketSource, type WebSocketContext } from "../../src/http/index.js";
import { BatchSource, CollectSink, Fn, sleep, testApp, until } from "../helpers/components.js";
import { peakGrowthMB } from "../helpers/memory.js";

/** A running app with a WebSocketSource and a CollectSink. */
async function wsSource(config: Record<string, string | number>): Promise<{ app: Application; pipeline: Pipeline; source: WebSocketSource; sink: CollectSink; running: Promise<number> }> {
  const app = testApp();
  const pipeline = new Pipeline(app, "WS");
  const source = new WebSocketSource(app, pipeline, { config });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  if (config.mode !== "client") await until(() => source.port !== 0);
  return { app, pipeline, source, sink, running };
}

function openClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("WebSocketSource (server): text frames become strings, binary frames Buffers, in order per connection, with their context", async () => {
  const { app, source, sink, running } = await wsSource({ listen: "127.0.0.1 0", path: "/in" });
  const clients = await Promise.all([0, 1, 2].map(() => openClient(`ws://127.0.0.1:${source.port}/in`)));
  const perClient = 600;
  for (let i = 0; i < perClient; i++) {
    clients.forEach((ws, c) => (i % 2 === 0 ? ws.send(`c${c}-${i}-ž`) : ws.send(Buffer.from(`c${c}-${i}`))));
  }
  await until(() => sink.events.length === 3 * perClient, 10000, "every message");
  const byConnection = new Map<number, string[]>();
  for (let i = 0; i < sink.events.length; i++) {
    const ctx = sink.contexts[i] as WebSocketContext;
    const event = sink.events[i];
    if (ctx.type === "text") {
      assert.equal(typeof event, "string");
      assert.ok((event as string).endsWith("-ž"));
    } else {
      assert.ok(Buffer.isBuffer(event));
    }
    assert.equal(ctx.request?.url, "/in");
    assert.equal(ctx["websocket.remote"], "127.0.0.1");
    const text = typeof event === "string" ? event.replace(/-ž$/, "") : (event as Buffer).toString();
    byConnection.set(ctx["websocket.id"], [...(byConnection.get(ctx["websocket.id"]) ?? []), text]);
  }
  assert.equal(byConnection.size, 3);
  for (const texts of byConnection.values()) {
    const c = texts[0]!.split("-")[0];
    assert.deepEqual(texts, Array.from({ length: perClient }, (_, i) => `${c}-${i}`));
  }
  // A reply through the context's socket reaches the client.
  const reply = new Promise<string>((resolve) => clients[0]!.once("message", (d) => resolve(d.toString())));
  const first = sink.contexts.find((c) => (c as WebSocketContext)["websocket.id"] === 1) as WebSocketContext;
  first.websocket.send("ack");
  assert.equal(await reply, "ack");
  // Another path is refused.
  await assert.rejects(openClient(`ws://127.0.0.1:${source.port}/other`), /404/);
  const codes = clients.map(closed);
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(await Promise.all(codes), [1001, 1001, 1001]);
});

test("WebSocketSource: a message over max_message_size is bad input and closes only that client with 1009; nothing else is lost", async () => {
  const { app, pipeline, source, sink, running } = await wsSource({ listen: "127.0.0.1 0", max_message_size: 1024 });
  const good = await openClient(`ws://127.0.0.1:${source.port}/`);
  const bad = await openClient(`ws://127.0.0.1:${source.port}/`);
  const badClosed = closed(bad);
  for (let i = 0; i < 100; i++) good.send(`ok ${i}`);
  bad.send("x".repeat(1024)); // at the limit: accepted
  bad.send(Buffer.alloc(5000)); // over
  assert.equal(await badClosed, 1009);
  for (let i = 100; i < 200; i++) good.send(`ok ${i}`);
  await until(() => sink.events.length === 201, 5000, "the good messages");
  assert.deepEqual(sink.events.filter((e) => typeof e === "string" && e.startsWith("ok ")), Array.from({ length: 200 }, (_, i) => `ok ${i}`));
  assert.equal(source.stats.bad_input, 1);
  assert.ok(pipeline.warnings >= 1);
  assert.equal(pipeline.errors, 0);
  assert.equal(good.readyState, WebSocket.OPEN);
  app.stop();
  assert.equal(await running, 0);
});

test("WebSocketSource: a throttled pipeline pauses the sockets; the sender's bufferedAmount grows, not the pump's memory; nothing lost", async () => {
  const { app, pipeline, source, sink, running } = await wsSource({ listen: "127.0.0.1 0" });
  const hold = {};
  pipeline.throttle(hold, true);
  const count = 800;
  const size = 65536; // 50 MiB in all
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./ws-sender.ts", import.meta.url).pathname, `ws://127.0.0.1:${source.port}/`, String(count), String(size)], { stdio: ["ignore", "pipe", "inherit"] });
  let last = { buffered: 0, written: 0 };
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    for (const line of text.split("\n")) if (line !== "") last = JSON.parse(line) as typeof last;
  });
  const growth = await peakGrowthMB(async () => {
    await until(() => last.buffered > 20 * 1048576, 20000, "the sender's buffer to grow past 20 MiB");
    await sleep(200);
  });
  // The source read only what was in flight when it paused.
  assert.ok(source.stats.messages + source.heldMessages < 100, `held ${source.stats.messages + source.heldMessages} messages`);
  assert.ok(growth < 20, `pump memory grew by ${growth.toFixed(1)} MB`);
  if (process.env.BSPUMP_TEST_NUMBERS) console.log(`sender buffered ${(last.buffered / 1048576).toFixed(1)} MiB; pump RSS +${growth.toFixed(1)} MB; source read ${source.stats.messages + source.heldMessages} messages`);
  assert.ok(source.stats.pauses >= 1);
  pipeline.throttle(hold, false);
  await until(() => sink.events.length === count, 30000, "every message after the release");
  const numbers = sink.events.map((e) => (e as Buffer).readUInt32BE(0));
  assert.deepEqual(numbers, Array.from({ length: count }, (_, i) => i));
  assert.ok(sink.events.every((e) => (e as Buffer).length === size));
  await new Promise((r) => child.once("exit", r));
  app.stop();
  assert.equal(await running, 0);
});

test("WebSocketSource (client): reads a server's messages, reconnects when the server drops it; every message sent arrives", async () => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  let connections = 0;
  let sent = 0;
  server.on("connection", (ws) => {
    connections++;
    for (let i = 0; i < 250; i++) ws.send(`m${sent++}`);
    // The first connection is dropped after its messages; the second stays.
    if (connections === 1) ws.close(1011);
  });
  const { app, source, sink, running } = await wsSource({ mode: "client", url: `ws://127.0.0.1:${port}/feed`, reconnect_delay: 0.05 });
  await until(() => sink.events.length === 500, 10000, "messages of both connections");
  assert.equal(connections, 2);
  assert.deepEqual(sink.events, Array.from({ length: 500 }, (_, i) => `m${i}`));
  assert.equal((sink.contexts[0] as WebSocketContext).request, null);
  assert.equal(source.stats.connections, 2);
  app.stop();
  assert.equal(await running, 0);
  await new Promise((r) => server.close(r));
});

test("WebSocketSource (client): a server that is not there is retried every reconnect_delay without crashing; connects once it is up", async () => {
  const port = await freePort();
  const { app, pipeline, sink, running } = await wsSource({ mode: "client", url: `ws://127.0.0.1:${port}/`, reconnect_delay: 0.05 });
  await sleep(300);
  assert.equal(pipeline.errors, 0);
  const server = new WebSocketServer({ port, host: "127.0.0.1" });
  server.on("connection", (ws) => ws.send("hello"));
  await until(() => sink.events.length === 1, 5000, "the message once the server is up");
  assert.deepEqual(sink.events, ["hello"]);
  app.stop();
  assert.equal(await running, 0);
  await new Promise((r) => server.close(r));
});

/** A server collecting every message (text as string, binary as Buffer); `drop` closes its connections. */
async function collectingServer(port = 0): Promise<{ server: WebSocketServer; port: number; got: (string | Buffer)[] }> {
  const server = new WebSocketServer({ port, host: "127.0.0.1" });
  await new Promise((r) => server.once("listening", r));
  const got: (string | Buffer)[] = [];
  server.on("connection", (ws) => ws.on("message", (data, isBinary) => got.push(isBinary ? (data as Buffer) : data.toString())));
  return { server, port: (server.address() as { port: number }).port, got };
}

function sinkApp(url: string, events: unknown[], config: Record<string, string | number> = {}, processors: (app: Application, p: Pipeline) => ProcessorBase[] = () => []) {
  const app = testApp();
  const pipeline = new Pipeline(app, "WSOut");
  const source = new BatchSource(app, pipeline);
  source.events = events;
  source.batchSize = 50;
  const sink = new HTTPClientWebSocketSink(app, pipeline, { config: { url, reconnect_delay: 0.05, ...config } });
  pipeline.build(source, ...processors(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink, running: app.run() };
}

test("HTTPClientWebSocketSink: Buffers as binary frames, strings as text, other values as JSON text; receipts settled after the send", async () => {
  const { server, port, got } = await collectingServer();
  const events: unknown[] = [];
  for (let i = 0; i < 1500; i++) events.push(i % 3 === 0 ? Buffer.from(`b${i}`) : i % 3 === 1 ? `s${i}` : { n: i });
  const { app, source, sink, running } = sinkApp(`ws://127.0.0.1:${port}/`, events);
  await until(() => source.completions === 30, 10000, "every batch's receipt");
  assert.deepEqual(source.outcomes, Array(30).fill(null));
  // Settled after ws called back: the server has them (or they are on the wire); wait for the last.
  await until(() => got.length === 1500, 5000, "every message at the server");
  got.forEach((m, i) => {
    if (i % 3 === 0) assert.deepEqual(m, Buffer.from(`b${i}`));
    else if (i % 3 === 1) assert.equal(m, `s${i}`);
    else assert.deepEqual(JSON.parse(m as string), { n: i });
  });
  assert.equal(sink.stats.sent, 1500);
  app.stop();
  assert.equal(await running, 0);
  await new Promise((r) => server.close(r));
});

test("HTTPClientWebSocketSink: throttles the pipeline until connected; reconnects after the server dropped it; nothing lost", async () => {
  const port = await freePort();
  const events = Array.from({ length: 3000 }, (_, i) => `e${i}`);
  const gate = {};
  const { app, pipeline, source, sink, running } = sinkApp(`ws://127.0.0.1:${port}/`, events, { output_queue_max_size: 20 }, (app, p) => [
    // Holds the source after the first 1000 events, so the drop below happens between two phases.
    new Fn(app, p, (event) => {
      if (event === "e999") p.throttle(gate, true);
      return event;
    }),
  ]);
  await sleep(200);
  assert.equal(pipeline.isReady(), false, "throttled while there is no server");
  assert.equal(source.fed, 0);
  const { server, got } = await collectingServer(port);
  await until(() => got.length === 1000, 10000, "the first 1000 at the server");
  for (const ws of server.clients) ws.terminate();
  await until(() => sink.stats.disconnects === 1, 5000, "the sink to see the drop");
  pipeline.throttle(gate, false);
  await until(() => source.completions === events.length / 50, 20000, "every batch's receipt");
  assert.deepEqual(source.outcomes, Array(events.length / 50).fill(null));
  await until(() => got.length >= events.length, 5000, "every message at the server");
  assert.equal(sink.stats.connects, 2);
  assert.deepEqual(got, events);
  app.stop();
  assert.equal(await running, 0);
  await new Promise((r) => server.close(r));
});

test("HTTPClientWebSocketSink: events it could not send when the app stops fail through the pipeline's error rules", async () => {
  const { server, port, got } = await collectingServer();
  const events = Array.from({ length: 100 }, (_, i) => `e${i}`);
  const gate = {};
  const { app, pipeline, source, sink, running } = sinkApp(`ws://127.0.0.1:${port}/`, events, { stop_timeout: 0.2 }, (app, p) => [
    new Fn(app, p, (event) => {
      if (event === "e49") p.throttle(gate, true);
      return event;
    }),
  ]);
  await until(() => got.length === 50, 5000, "the first 50");
  assert.equal(source.completions, 1);
  // The server goes away; the sink cannot reconnect. Then 50 more events reach the sink, and the app stops.
  server.close();
  for (const ws of server.clients) ws.terminate();
  await until(() => sink.stats.disconnects === 1, 5000, "the drop");
  pipeline.throttle(gate, false);
  // The sink throttles while disconnected; hand the rest over regardless, as a source already in its loop would.
  for (let i = 50; i < 100; i++) pipeline.process(`late${i}`, {});
  app.stop();
  await running;
  assert.equal(sink.stats.failed, 50);
  assert.ok(pipeline.errors >= 1, "the batch failed through the error rules");
});

test("WebSocketSource ← HTTPClientWebSocketSink: one pump to another over a real socket, counts equal", async () => {
  const { app: inApp, source, sink: collected, running: inRunning } = await wsSource({ listen: "127.0.0.1 0" });
  const events = Array.from({ length: 2000 }, (_, i) => (i % 2 ? `t${i}` : Buffer.from(`b${i}`)));
  const { app, source: feeder, running } = sinkApp(`ws://127.0.0.1:${source.port}/`, events);
  await until(() => feeder.completions === 40 && collected.events.length === 2000, 10000, "everything across");
  assert.deepEqual(collected.events, events);
  assert.deepEqual(feeder.outcomes, Array(40).fill(null));
  app.stop();
  assert.equal(await running, 0);
  inApp.stop();
  assert.equal(await inRunning, 0);
});

test("WebSocket config is checked at start: a URL that is not ws/wss/http/https is a ConfigError naming the key", () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "Bad");
  assert.throws(() => new HTTPClientWebSocketSink(app, pipeline, { config: { url: "ftp://x/" } }), (e: Error) => e instanceof ConfigError && /url/.test(e.message));
  assert.throws(() => new WebSocketSource(app, pipeline, { config: { mode: "client", url: "not a url" } }), (e: Error) => e instanceof ConfigError && /url/.test(e.message));
  assert.throws(() => new WebSocketSource(app, pipeline, { config: { mode: "peer" } }), ConfigError);
});

test("HTTPClientWebSocketSink: a server that stops answering pings is dropped after a heartbeat and connected to again", async () => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: false });
  await new Promise((r) => server.once("listening", r));
  let connections = 0;
  server.on("connection", () => connections++);
  const { app, sink, running } = sinkApp(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`, [], { heartbeat: 0.1 });
  await until(() => connections >= 2, 5000, "a second connection after the missed pong");
  assert.ok(sink.stats.disconnects >= 1);
  app.stop();
  assert.equal(await running, 0);
  await new Promise((r) => server.close(r));
});
