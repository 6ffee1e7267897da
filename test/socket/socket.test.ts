import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createSocket, type Socket as UDPSocket } from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pipeline, ConfigError, Receipt, Source, Trigger, type Application, type ComponentOptions, type ConfigInput, type EventContext, type ProcessorBase } from "../../src/core/index.js";
import { JSONParserProcessor, IteratorSource } from "../../src/common/index.js";
import { DatagramSink, DatagramSource, parseAddress, parseAddresses, StreamClientSink, TCPStreamSource, type StreamContext } from "../../src/socket/index.js";
import { CollectSink, BufferedSink, testApp, until, sleep } from "../helpers/components.js";

/** Fires once, as soon as the application runs (or at once if it already does). */
function onceTrigger(app: Application): Trigger {
  return new (class extends Trigger {
    protected override activate(): void {
      this.fire();
    }
  })(app);
}

function client(port: number, path?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = path ? connect({ path }) : connect({ port, host: "127.0.0.1" });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

function end(s: Socket): Promise<void> {
  return new Promise((resolve) => s.end(() => resolve()));
}

/** Connects, writes `data` and closes the connection. */
async function sendAndEnd(port: number, data: string): Promise<void> {
  const s = await client(port);
  s.write(data);
  await end(s);
}

/** A UDP socket bound to an ephemeral port on 127.0.0.1. */
async function udpSocket(): Promise<UDPSocket> {
  const udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  return udp;
}

/**
 * A running app with one pipeline ("P", unless `makePipeline` makes another): a `Kind` source with `config`,
 * then `processors`, then a CollectSink; resolves once the source listens (`listening`; by default, once it has a port).
 */
async function serve<S extends TCPStreamSource | DatagramSource>(
  Kind: new (app: Application, pipeline: Pipeline, options: ComponentOptions) => S,
  config: ConfigInput,
  options: {
    makePipeline?: (app: Application) => Pipeline;
    processors?: (app: Application, pipeline: Pipeline) => ProcessorBase[];
    listening?: (source: S) => boolean;
  } = {},
): Promise<{ app: Application; pipeline: Pipeline; source: S; sink: CollectSink; running: Promise<number> }> {
  const app = testApp();
  const pipeline = options.makePipeline?.(app) ?? new Pipeline(app, "P");
  const source = new Kind(app, pipeline, { config });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, ...(options.processors?.(app, pipeline) ?? []), sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => (options.listening ?? ((source) => source.port !== 0))(source));
  return { app, pipeline, source, sink, running };
}

test("parseAddress: BSPump's forms; each line of a multi-line address on its own", () => {
  assert.deepEqual(parseAddress("0.0.0.0 8080"), { kind: "inet", host: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseAddress("0.0.0.0:8080"), { kind: "inet", host: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseAddress(":: 8080"), { kind: "inet", host: "::", port: 8080 });
  assert.deepEqual(parseAddress(":::8080"), { kind: "inet", host: "::", port: 8080 });
  assert.deepEqual(parseAddress("[::1]:8080"), { kind: "inet", host: "::1", port: 8080 });
  assert.deepEqual(parseAddress("*:8080"), { kind: "inet", host: "", port: 8080 });
  assert.deepEqual(parseAddress("8080"), { kind: "inet", host: "", port: 8080 });
  assert.deepEqual(parseAddress("/tmp/x.sock"), { kind: "unix", path: "/tmp/x.sock" });
  assert.deepEqual(parseAddress("./x.sock"), { kind: "unix", path: "./x.sock" });
  assert.deepEqual(parseAddress("some-socket"), { kind: "unix", path: "some-socket" });
  assert.deepEqual(parseAddresses("127.0.0.1 8001\n  ::1 8002\n/tmp/s"), [
    { kind: "inet", host: "127.0.0.1", port: 8001 },
    { kind: "inet", host: "::1", port: 8002 },
    { kind: "unix", path: "/tmp/s" },
  ]);
  assert.throws(() => parseAddress("1.2.3.4 99999"), ConfigError);
  assert.throws(() => parseAddresses(""), ConfigError);
});

test("TCP line server: several clients, every line in order per connection, with its context", async () => {
  const { app, source, sink, running } = await serve(TCPStreamSource, { address: "127.0.0.1 0" });
  const clients = 4;
  const perClient = 3000;
  const sockets = await Promise.all(Array.from({ length: clients }, () => client(source.port)));
  // Each client writes its lines in odd-sized pieces, so lines straddle chunk boundaries; the last has no newline.
  await Promise.all(
    sockets.map(async (s, c) => {
      let text = "";
      for (let i = 0; i < perClient; i++) text += `c${c}-${i}${i === perClient - 1 ? "" : "\n"}`;
      const data = Buffer.from(text);
      for (let at = 0; at < data.length; at += 777) {
        if (!s.write(data.subarray(at, at + 777))) await new Promise((r) => s.once("drain", r));
      }
      await end(s);
    }),
  );
  await until(() => sink.events.length === clients * perClient);
  const byStream = new Map<number, string[]>();
  for (let i = 0; i < sink.events.length; i++) {
    const ctx = sink.contexts[i] as StreamContext;
    assert.equal(ctx.stream_type, "AF_INET");
    assert.equal(ctx.stream_dir, "in");
    assert.match(ctx.stream_peer, /^127\.0\.0\.1 \d+$/);
    assert.equal(ctx.stream_me, `127.0.0.1 ${source.port}`);
    const list = byStream.get(ctx.stream_id) ?? [];
    list.push(sink.events[i] as string);
    byStream.set(ctx.stream_id, list);
  }
  assert.equal(byStream.size, clients);
  for (const lines of byStream.values()) {
    const c = lines[0]!.split("-")[0]!;
    assert.deepEqual(lines, Array.from({ length: perClient }, (_, i) => `${c}-${i}`));
  }
  app.stop();
  assert.equal(await running, 0);
});

test("TCP line server: replies through context.stream; UNIX socket; decode='' gives Buffers", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bspump-socket-"));
  try {
    const path = join(dir, "s.sock");
    class Echo extends JSONParserProcessor {
      override process(context: EventContext, event: unknown): unknown {
        (context as StreamContext).stream.send(Buffer.concat([Buffer.from("ok "), event as Buffer, Buffer.from("\n")]));
        return event;
      }
    }
    const { app, sink, running } = await serve(
      TCPStreamSource,
      { address: `127.0.0.1 0\n${path}`, decode: "" },
      { processors: (app, pipeline) => [new Echo(app, pipeline)], listening: (source) => source.listening.length === 2 },
    );
    const u = await client(0, path);
    const replies: Buffer[] = [];
    u.on("data", (d: Buffer) => replies.push(d));
    u.write("h\u00e9llo\r\nworld\n");
    await until(() => Buffer.concat(replies).toString() === "ok h\u00e9llo\r\nok world\n");
    await end(u);
    assert.deepEqual(sink.events, [Buffer.from("h\u00e9llo\r"), Buffer.from("world")]);
    assert.equal((sink.contexts[0] as StreamContext).stream_type, "AF_UNIX");
    app.stop();
    assert.equal(await running, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("TCP line server: a UTF-8 character split between two reads is decoded whole; latin-1 decode", async () => {
  for (const [decode, bytes, expected] of [
    ["utf-8", Buffer.from("a\u00e9\u20acz\nsecond\n"), ["a\u00e9\u20acz", "second"]],
    ["latin-1", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), ["caf\u00e9"]],
  ] as const) {
    const { app, source, sink, running } = await serve(TCPStreamSource, { address: "127.0.0.1 0", decode });
    const s = await client(source.port);
    s.setNoDelay(true);
    // Byte by byte, with pauses, so the server reads partial characters.
    for (const b of bytes) {
      s.write(Buffer.from([b]));
      await sleep(2);
    }
    await end(s);
    await until(() => sink.events.length === expected.length);
    assert.deepEqual(sink.events, expected);
    app.stop();
    assert.equal(await running, 0);
  }
});

test("TCP line server: reading pauses while the pipeline is throttled, then nothing is lost", async () => {
  const { app, pipeline, source, sink, running } = await serve(TCPStreamSource, { address: "127.0.0.1 0" });
  const s = await client(source.port);
  s.write("first\n");
  await until(() => sink.events.length === 1);
  pipeline.throttle("test", true);
  const lines = 400_000; // ~ 5 MB, far more than the socket buffers on both sides
  let text = "";
  for (let i = 0; i < lines; i++) text += `line-${i}\n`;
  const total = Buffer.byteLength(text);
  s.write(text);
  // The server stops reading: the client is left holding unsent data, and no event goes through.
  await until(() => s.writableLength > 0 && source.stats.bytes > 6);
  let last = -1;
  while (source.stats.bytes !== last) {
    last = source.stats.bytes;
    await sleep(200);
  }
  assert.equal(sink.events.length, 1);
  assert.ok(source.stats.bytes < total / 2, `read ${source.stats.bytes} of ${total} bytes while throttled`);
  assert.ok(s.writableLength > 0);
  pipeline.throttle("test", false);
  await end(s);
  await until(() => sink.events.length === lines + 1, 30000);
  assert.equal(sink.events.at(-1), `line-${lines - 1}`);
  app.stop();
  assert.equal(await running, 0);
});

test("TCP line server: malformed JSON follows the pipeline's error rules and the server keeps serving", async () => {
  // Soft errors: bad lines are counted warnings, the rest goes through.
  const json = (app: Application, pipeline: Pipeline) => [new JSONParserProcessor(app, pipeline)];
  {
    class Soft extends Pipeline {
      override handleError(): boolean {
        return true;
      }
    }
    const { app, pipeline, source, sink, running } = await serve(TCPStreamSource, { address: "127.0.0.1 0" }, { makePipeline: (app) => new Soft(app, "Soft"), processors: json });
    await sendAndEnd(source.port, '{"a":1}\n{oops\n{"a":2}\nnot json\n{"a":3}\n');
    await until(() => sink.events.length === 3);
    assert.deepEqual(sink.events, [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.equal(pipeline.warnings, 2);
    assert.equal(pipeline.isError(), false);
    app.stop();
    assert.equal(await running, 0);
  }
  // Hard error (the default): the pipeline stops; connections are held, not dropped; the server still
  // accepts; clearing the error resumes with the next line.
  {
    const { app, pipeline, source, sink, running } = await serve(TCPStreamSource, { address: "127.0.0.1 0" }, { makePipeline: (app) => new Pipeline(app, "Hard"), processors: json });
    const s = await client(source.port);
    s.write('{"a":1}\n{oops\n{"a":2}\n');
    await until(() => pipeline.isError());
    assert.deepEqual(sink.events, [{ a: 1 }]);
    await sendAndEnd(source.port, '{"b":1}\n');
    await sleep(100);
    assert.deepEqual(sink.events, [{ a: 1 }]);
    assert.equal(source.running, true);
    pipeline.setError(null, null, null);
    await until(() => sink.events.length === 3);
    assert.deepEqual(
      sink.events.slice(1).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [{ a: 2 }, { b: 1 }],
    );
    await end(s);
    app.stop();
    assert.equal(await running, 0);
  }
});

test("UDPSource (DatagramSource): one Buffer event per datagram with the sender; queued while throttled", async () => {
  const { app, pipeline, source, sink, running } = await serve(DatagramSource, { address: "127.0.0.1 0" });
  const udp = await udpSocket();
  const send = (msg: string) => new Promise<void>((r) => udp.send(msg, source.port, "127.0.0.1", () => r()));
  for (let i = 0; i < 50; i++) await send(`d${i}`);
  await until(() => sink.events.length === 50);
  assert.deepEqual(sink.events.map(String), Array.from({ length: 50 }, (_, i) => `d${i}`));
  assert.equal((sink.contexts[0] as { datagram: string }).datagram, `127.0.0.1 ${udp.address().port}`);
  pipeline.throttle("test", true);
  for (let i = 50; i < 80; i++) await send(`d${i}`);
  await until(() => source.stats.received === 80);
  assert.equal(sink.events.length, 50);
  pipeline.throttle("test", false);
  await until(() => sink.events.length === 80);
  assert.equal(String(sink.events[79]), "d79");
  udp.close();
  app.stop();
  assert.equal(await running, 0);
});

test("DatagramSink sends each event as a datagram", async () => {
  const receiver = await udpSocket();
  const got: string[] = [];
  receiver.on("message", (m) => got.push(m.toString()));
  const app = testApp();
  const pipeline = new Pipeline(app, "P");
  const events = Array.from({ length: 20 }, (_, i) => `u${i}`);
  pipeline.build(new IteratorSource(app, pipeline, events).on(onceTrigger(app)), new DatagramSink(app, pipeline, { config: { address: `127.0.0.1:${receiver.address().port}` } }));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => got.length === 20);
  assert.deepEqual(got, events);
  receiver.close();
  app.stop();
  assert.equal(await running, 0);
});

/** A port that is free now (it was just bound and released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Events pushed by the test, each batch with one receipt. */
class PushSource extends Source {
  async main(): Promise<void> {
    await this.untilStopped;
  }
  async push(events: unknown[]): Promise<Receipt> {
    const receipt = new Receipt();
    for (const e of events) {
      const go = this.whenReady();
      if (go !== true && !(await go)) break;
      this.pipeline.process(e, { receipt });
    }
    receipt.seal();
    return receipt;
  }
}

test("StreamClientSink: queues while the server is down, reconnects after a drop; receipts settle after the write", async () => {
  const port = await freePort();
  const app = testApp();
  const pipeline = new Pipeline(app, "Send");
  const source = new PushSource(app, pipeline);
  const sink = new StreamClientSink(app, pipeline, { config: { address: `127.0.0.1 ${port}`, reconnect_delay: 0.05, outbound_queue_max_size: 50 } });
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  const n = 300;
  const first = source.push(Array.from({ length: n }, (_, i) => `m${i}\n`));
  await until(() => pipeline.getThrottles().has(sink)); // queue full while down: the source is held
  assert.equal(sink.isConnected, false);
  // The server comes up late.
  const received: string[] = [];
  const sockets = new Set<Socket>();
  let buf = "";
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop()!;
      received.push(...parts);
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  const r1 = await first;
  await until(() => r1.done && received.length === n, 20000);
  assert.equal(r1.error, null);
  assert.deepEqual(received, Array.from({ length: n }, (_, i) => `m${i}`));
  // The server drops the connection: the sink notices, reconnects, and goes on.
  for (const s of sockets) s.destroy();
  await until(() => sink.stats.disconnects === 1 && sink.isConnected);
  const r2 = await source.push(Array.from({ length: 100 }, (_, i) => `n${i}\n`));
  await until(() => r2.done && received.length === n + 100);
  assert.equal(r2.error, null);
  assert.deepEqual(received.slice(n), Array.from({ length: 100 }, (_, i) => `n${i}`));
  assert.equal(sink.stats.connects, 2);
  app.stop();
  assert.equal(await running, 0);
  await new Promise<void>((r) => server.close(() => r()));
});

test("StreamClientSink → TCPStreamSource over TLS (the client sink had no TLS in BSPump)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bspump-tls-"));
  try {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
    const app = testApp();
    const rx = new Pipeline(app, "Receive");
    const server = new TCPStreamSource(app, rx, { config: { address: "127.0.0.1 0", cert, key } });
    const got = new BufferedSink(app, rx);
    got.flushEvery = 1;
    rx.build(server, new JSONParserProcessor(app, rx), got);
    app.pumpService.addPipeline(rx);
    const running = app.run();
    await until(() => server.port !== 0);
    const tx = new Pipeline(app, "Send");
    const events = Array.from({ length: 100 }, (_, i) => `{"i":${i}}\n`);
    tx.build(new IteratorSource(app, tx, events).on(onceTrigger(app)), new StreamClientSink(app, tx, { config: { address: `localhost ${server.port}`, cafile: cert } }));
    app.pumpService.addPipeline(tx);
    await until(() => got.written.length === 100);
    assert.deepEqual(got.written, Array.from({ length: 100 }, (_, i) => ({ i })));
    app.stop();
    assert.equal(await running, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
