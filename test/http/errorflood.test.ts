import { test } from "node:test";
import assert from "node:assert/strict";
import { Pipeline, Sink, type LogRecord } from "../../src/core/index.js";
import { WebServiceSource } from "../../src/http/index.js";
import { testApp, until } from "../helpers/components.js";

test("WebServiceSource: after a hard error the rest of the body is not handed over (500 at once, one log line); resent after the clear, all once", async () => {
  const app = testApp();
  const logs: LogRecord[] = [];
  app.logs.writer = (r) => logs.push(r);
  const pipeline = new Pipeline(app, "Web");
  const source = new WebServiceSource(app, pipeline, { config: { listen: "127.0.0.1 0", path: "/events", format: "lines", response_timeout: 5 } });
  const written: string[] = [];
  let failing = true;
  let failedCalls = 0;
  class FailingSink extends Sink {
    process(_context: unknown, event: unknown): null {
      if (failing && Number(String(event).slice(1)) >= 10) {
        failedCalls++;
        throw new Error("sink down");
      }
      written.push(String(event));
      return null;
    }
  }
  pipeline.build(source, new FailingSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => source.port !== 0);
    const url = `http://127.0.0.1:${source.port}/events`;
    const lines = Array.from({ length: 1000 }, (_, i) => `e${i}`);
    const body = lines.join("\n") + "\n";
    const first = await fetch(url, { method: "POST", body });
    // Before: the rest waited for the clear (or response_timeout), then failed event by event.
    assert.equal(first.status, 500);
    assert.equal(failedCalls, 1, "no event handed over after the first error");
    assert.equal(pipeline.errors, 1);
    assert.equal(logs.filter((r) => /processing error|already set|more events failed/.test(r.msg)).length, 1);
    assert.deepEqual(written, lines.slice(0, 10));

    failing = false;
    pipeline.setError(null, null, null);
    written.length = 0;
    const again = await fetch(url, { method: "POST", body });
    assert.equal(again.status, 200);
    assert.deepEqual(written, lines, "every line once after the clear");
  } finally {
    app.stop();
    await running;
  }
});
