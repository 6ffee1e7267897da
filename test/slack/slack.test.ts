import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pipeline } from "../../src/core/index.js";
import { SlackConnection, SlackMessageSink, SlackTextSink } from "../../src/slack/index.js";
import { BatchSource, runUntil, testApp } from "../helpers/components.js";

/**
 * A local stand-in for Slack's incoming webhook (Slack is a third-party service: the one mock the
 * project allows). It checks what Slack checks — POST, JSON content type, a JSON object with text,
 * blocks or attachments — and answers like Slack: "ok", or 400 invalid_payload.
 */
async function slackReceiver(script: (n: number, payload: Record<string, unknown>) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | null = () => null) {
  const received: { payload: Record<string, unknown>; at: number }[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      requests++;
      let payload: Record<string, unknown>;
      try {
        assert.equal(req.method, "POST");
        assert.equal(req.url, "/services/T1/B2/XYZ");
        assert.match(req.headers["content-type"] ?? "", /^application\/json/);
        payload = JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown>;
        assert.equal(typeof payload, "object");
        assert.ok("text" in payload || "blocks" in payload || "attachments" in payload);
      } catch {
        res.writeHead(400, { "Content-Type": "text/plain" }).end("invalid_payload");
        return;
      }
      const scripted = script(requests, payload);
      const answer = () => {
        if (scripted) {
          res.writeHead(scripted.status, { "Content-Type": "text/plain", ...(scripted.headers ?? {}) }).end(scripted.body ?? "");
          return;
        }
        received.push({ payload, at: Date.now() });
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      };
      if (scripted?.delayMs) setTimeout(answer, scripted.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T1/B2/XYZ`;
  return {
    url,
    received,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function slackPipeline(url: string, events: unknown[], connConfig: Record<string, string | number> = {}, Sink: typeof SlackTextSink | typeof SlackMessageSink = SlackTextSink) {
  const app = testApp();
  const connection = new SlackConnection(app, "SlackConnection", { config: { hook_url: url, retry_delay: 0.05, ...connConfig } });
  app.pumpService.addConnection(connection);
  const pipeline = new (class extends Pipeline {
    override handleError(error: Error): boolean {
      return error instanceof TypeError;
    }
  })(app, "Alerts");
  const source = new BatchSource(app, pipeline);
  source.events = events;
  source.batchSize = 1;
  const sink = new Sink(app, pipeline, "SlackConnection");
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink, connection };
}

test("SlackTextSink: one webhook POST per event, {text}, in order; receipts settled on 'ok'", async () => {
  const slack = await slackReceiver();
  try {
    const events = ["disk full on db1", { host: "db2", load: 9.5 }, Buffer.from("bytes too")];
    const { app, source, connection } = slackPipeline(slack.url, events);
    await runUntil(app, () => source.completions === 3);
    assert.deepEqual(slack.received.map((r) => r.payload), [{ text: "disk full on db1" }, { text: '{"host":"db2","load":9.5}' }, { text: "bytes too" }]);
    assert.ok(source.batches.every((b) => b.error === null && b.settled === 1));
    assert.equal(connection.stats.sent, 3);
  } finally {
    await slack.close();
  }
});

test("Slack rate limiting: a 429 waits Retry-After, then the same message is sent again; order kept, nothing lost", async () => {
  let limited = 0;
  const slack = await slackReceiver((n) => {
    if (n === 2) {
      limited = Date.now();
      return { status: 429, headers: { "Retry-After": "1" }, body: "rate_limited" };
    }
    return null;
  });
  try {
    const events = ["m1", "m2", "m3"];
    const { app, source, connection } = slackPipeline(slack.url, events, { retry_delay: 30 });
    await runUntil(app, () => source.completions === 3, 15000);
    assert.deepEqual(slack.received.map((r) => r.payload.text), ["m1", "m2", "m3"]);
    const retried = slack.received[1]!.at;
    assert.ok(retried - limited >= 900, `retried ${retried - limited} ms after the 429 (Retry-After: 1 s, not retry_delay 30 s)`);
    assert.equal(connection.stats.rate_limited, 1);
    assert.equal(slack.requests(), 4);
    assert.ok(source.batches.every((b) => b.error === null));
  } finally {
    await slack.close();
  }
});

test("Slack: 5xx is retried; 400/404 fail the message at once (its receipt fails), the others go on", async () => {
  const slack = await slackReceiver((n, payload) => {
    if (n === 1) return { status: 503, body: "busy" };
    if (payload.text === "bad") return { status: 404, body: "no_service" };
    return null;
  });
  try {
    const { app, source, connection } = slackPipeline(slack.url, ["a", "bad", "c"]);
    await runUntil(app, () => source.completions === 3);
    assert.deepEqual(slack.received.map((r) => r.payload.text), ["a", "c"]);
    assert.equal(slack.requests(), 4, "503 retried once, 404 not retried");
    assert.equal(source.batches[1]!.failed, 1);
    assert.match(source.batches[1]!.error!.message, /404 no_service/);
    assert.equal(connection.stats.failed, 1);
  } finally {
    await slack.close();
  }
});

test("SlackMessageSink: message objects go as they are; an event that is not a message follows the error rules", async () => {
  const slack = await slackReceiver();
  try {
    const message = { text: "fallback", blocks: [{ type: "section", text: { type: "mrkdwn", text: "*CPU* high" } }] };
    const { app, pipeline, source } = slackPipeline(slack.url, [message, "just text", { attachments: [{ color: "#f00", text: "x" }] }], {}, SlackMessageSink);
    await runUntil(app, () => source.completions === 3);
    assert.deepEqual(slack.received.map((r) => r.payload), [message, { attachments: [{ color: "#f00", text: "x" }] }]);
    assert.equal(pipeline.warnings, 1);
  } finally {
    await slack.close();
  }
});

test("SlackConnection throttles the pipeline while output_queue_max_size messages wait", async () => {
  const slack = await slackReceiver(() => ({ status: 200, delayMs: 30, body: "ok" }));
  try {
    const events = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const { app, pipeline, source, connection } = slackPipeline(slack.url, events, { output_queue_max_size: 3 });
    let throttled = 0;
    let maxQueued = 0;
    pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", () => throttled++);
    const timer = setInterval(() => (maxQueued = Math.max(maxQueued, connection.queued)), 1);
    await runUntil(app, () => source.completions === 12, 15000);
    clearInterval(timer);
    assert.equal(slack.requests(), 12);
    assert.ok(throttled >= 1);
    assert.ok(maxQueued <= 3, `queued at most ${maxQueued}`);
  } finally {
    await slack.close();
  }
});

test("SlackConnection's limits are declared ranges: max_retries below -1, a zero timeout, an empty queue are config errors", () => {
  const app = testApp();
  for (const [key, value, range] of [["max_retries", -2, ">= -1"], ["timeout", 0, "from 0.001 to 86400"], ["output_queue_max_size", 0, ">= 1"], ["retry_delay", -1, ">= 0"]] as const) {
    assert.throws(() => new SlackConnection(app, `S${key}`, { config: { hook_url: "http://127.0.0.1:9/", [key]: value } }), (e: Error) => e.message.includes(`key '${key}': expected a number ${range}`), key);
  }
});
