/**
 * Follows a log file with `tail -F` and forwards its lines over a WebSocket:
 *
 *   bspump.subprocess.SubProcessSource → bspump.http.HTTPClientWebSocketSink
 *
 *   node --import tsx examples/subprocess-tail.ts /var/log/app.log ws://127.0.0.1:8081/   # until Ctrl-C
 *
 * Without arguments it starts a WebSocket server of its own, appends a few lines to a temporary
 * file, prints what the server received and exits (tail is stopped with the app).
 */
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import * as bspump from "../src/index.js";

const demo = process.argv[2] === undefined;
const file = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), "bspump-tail-")), "app.log");
let url = process.argv[3] ?? "";
const received: string[] = [];
let server: WebSocketServer | null = null;
if (demo) {
  writeFileSync(file, "");
  server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => server!.once("listening", r));
  server.on("connection", (ws) => ws.on("message", (data) => received.push(data.toString())));
  url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

class TailPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      // -n 0: only lines appended from now on; -F: follow the name across rotations.
      new bspump.subprocess.SubProcessSource(app, this, { config: { command: `tail -n 0 -F '${file.replace(/'/g, "'\\''")}'`, decode: "utf-8" } }),
      new bspump.http.HTTPClientWebSocketSink(app, this, { config: { url, reconnect_delay: 1 } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: demo ? [] : process.argv.slice(4) });
const svc = app.getService<bspump.PumpService>("bspump.PumpService");
const pipeline = svc.addPipeline(new TailPipeline(app, "Tail"));

if (demo) {
  app.pubsub.subscribe("Application.run!", async () => {
    await new Promise((r) => setTimeout(r, 500)); // tail has opened the file
    for (let i = 1; i <= 5; i++) appendFileSync(file, `line ${i}\n`);
    while (received.length < 5) await new Promise((r) => setTimeout(r, 10));
    app.stop();
  });
}

const code = await app.run();
if (demo) {
  for (const line of received) console.log(`received: ${line}`);
  console.log(`lines: ${pipeline.eventIn}, sent: ${pipeline.eventOut}`);
  server?.close();
}
process.exitCode = code;
