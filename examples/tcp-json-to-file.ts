/**
 * The seed's example, with a file sink: a TCP line server → JSON parser → JSON-lines file.
 *
 *   bspump.socket.TCPStreamSource → bspump.common.JSONParserProcessor → bspump.file.FileJSONSink
 *
 *   node --import tsx examples/tcp-json-to-file.ts "127.0.0.1 8888" out.jsonl   # serve until Ctrl-C
 *   echo '{"hello":"world"}' | nc -q0 127.0.0.1 8888
 *
 * Without arguments it listens on a free port, sends itself a few lines (one of them malformed:
 * the pipeline counts it as a warning and goes on), prints the file and exits.
 */
import { connect } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const demo = process.argv[2] === undefined;
const address = process.argv[2] ?? "127.0.0.1 0";
const output = process.argv[3] ?? join(mkdtempSync(join(tmpdir(), "bspump-tcp-")), "out.jsonl");

class MyPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.socket.TCPStreamSource(app, this, { config: { address } }),
      new bspump.common.JSONParserProcessor(app, this),
      new bspump.file.FileJSONSink(app, this, { config: { path: output, flush_period: 0.2 } }),
    );
  }

  // A malformed line is a warning, not a reason to stop the pipeline.
  override handleError(error: Error): boolean {
    return error instanceof SyntaxError;
  }
}

const app = new bspump.BSPumpApplication({ args: demo ? [] : process.argv.slice(4) });
const svc = app.getService<bspump.PumpService>("bspump.PumpService");
const pipeline = svc.addPipeline(new MyPipeline(app, "MyPipeline"));

if (demo) {
  const source = pipeline.sources[0] as bspump.socket.TCPStreamSource;
  const sink = pipeline.sink as bspump.file.FileJSONSink;
  app.pubsub.subscribe("Application.run!", async () => {
    while (source.port === 0) await new Promise((r) => setTimeout(r, 10));
    const client = connect({ host: "127.0.0.1", port: source.port }, () => {
      client.end('{"id":1,"name":"Ann"}\n{"id":2,"name":"Bob"}\nthis is not JSON\n{"id":3,"name":"Cyd"}\n');
    });
    client.on("close", async () => {
      while (pipeline.eventIn < 4) await new Promise((r) => setTimeout(r, 10));
      await sink.flush();
      app.stop();
    });
  });
}

const code = await app.run();
if (demo) {
  process.stdout.write(readFileSync(output, "utf8"));
  console.log(`events in: ${pipeline.eventIn}, written: ${pipeline.eventOut}, warnings: ${pipeline.warnings}`);
}
process.exitCode = code;
