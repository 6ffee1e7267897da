// The README's example pattern ("The BSPump example, in TypeScript"), with an in-memory source and sink standing in for TCP
// and Elasticsearch: an application, a connection registered by id, a Pipeline subclass that builds
// itself, a PumpService, and app.run().
import { test } from "node:test";
import assert from "node:assert/strict";
import * as bspump from "../../src/index.js";

class LineConnection extends bspump.Connection {
  readonly written: unknown[] = [];
}

class LinesSource extends bspump.Source {
  async main(): Promise<void> {
    for (const line of ['{"user":"ann","n":1}', '{"user":"bob","n":2}']) await this.process(line, { peer: "127.0.0.1" });
    await this.stopped();
  }
}

class ConnectionSink extends bspump.Sink {
  private readonly connection: LineConnection;
  constructor(app: bspump.Application, pipeline: bspump.Pipeline, connection: string | LineConnection, options: bspump.ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = app.pumpServiceOrNull()!.locateConnection(connection);
  }
  process(_context: bspump.EventContext, event: unknown): null {
    this.connection.written.push(event);
    return null;
  }
}

class MyPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(new LinesSource(app, this), new bspump.common.JSONParserProcessor(app, this), new ConnectionSink(app, this, "ESConnection"));
  }
}

test("the seed example pattern compiles and runs", async () => {
  const app = new bspump.BSPumpApplication({ args: [], handleSignals: false });
  app.logs.writer = () => {};
  const svc = app.getService<bspump.PumpService>("bspump.PumpService");
  const connection = svc.addConnection(new LineConnection(app, "ESConnection"));
  svc.addPipeline(new MyPipeline(app, "MyPipeline"));
  const running = app.run();
  while (connection.written.length < 2) await new Promise((r) => setTimeout(r, 5));
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(connection.written, [
    { user: "ann", n: 1 },
    { user: "bob", n: 2 },
  ]);
  assert.equal(svc.locatePipeline("MyPipeline")!.eventOut, 2);
});
