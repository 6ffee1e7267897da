/**
 * TCP line server benchmark: TCPStreamSource → JSONParserProcessor → counting sink, against a plain
 * node:net server that splits the same bytes into lines and JSON.parses them, in one run. One
 * client sends N JSON lines (~60 bytes each) as fast as the server takes them.
 *
 *   node --import tsx bench/socket.ts [lines]
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { BSPumpApplication, Config, Pipeline, Sink } from "../src/core/index.js";
import { JSONParserProcessor } from "../src/common/index.js";
import { TCPStreamSource } from "../src/socket/index.js";

const LINES = Number(process.argv[2] ?? 1_000_000);
let payload = "";
for (let i = 0; i < 10_000; i++) payload += `{"id":${i},"host":"server-${i % 50}","value":${(i * 0.37).toFixed(2)}}\n`;
const block = Buffer.from(payload);
const blocks = Math.ceil(LINES / 10_000);
const total = blocks * 10_000;

function send(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: "127.0.0.1" }, async () => {
      for (let i = 0; i < blocks; i++) if (!s.write(block)) await new Promise((r) => s.once("drain", r));
      s.end(resolve);
    });
  });
}

class CountSink extends Sink {
  count = 0;
  process(): null {
    this.count++;
    return null;
  }
}

async function pump(): Promise<number> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "bench"), handleSignals: false });
  app.logs.defaultLevel = "error";
  const pipeline = new Pipeline(app, "Bench");
  const source = new TCPStreamSource(app, pipeline, { config: { address: "127.0.0.1 0" } });
  const sink = new CountSink(app, pipeline);
  pipeline.build(source, new JSONParserProcessor(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  while (source.port === 0) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await send(source.port);
  while (sink.count < total) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - t0) / 1000;
  app.stop();
  await running;
  return seconds;
}

async function plain(): Promise<number> {
  let count = 0;
  const server = createServer((sock) => {
    let rest = "";
    sock.on("data", (chunk: Buffer) => {
      const text = rest + chunk.toString("utf8");
      let start = 0;
      let nl = text.indexOf("\n");
      while (nl >= 0) {
        JSON.parse(text.slice(start, nl));
        count++;
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      rest = text.slice(start);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const t0 = performance.now();
  await send((server.address() as AddressInfo).port);
  while (count < total) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - t0) / 1000;
  server.close();
  return seconds;
}

const base = await plain();
const ours = await pump();
console.log(`lines: ${total}`);
console.log(`plain node:net loop: ${(total / base / 1e6).toFixed(2)} M lines/s (${base.toFixed(2)} s)`);
console.log(`TCPStreamSource pipeline: ${(total / ours / 1e6).toFixed(2)} M lines/s (${ours.toFixed(2)} s)`);
console.log(`ratio pipeline/plain time: ${(ours / base).toFixed(2)}`);
