// @services opensearch
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { ElasticSearchConnection, ElasticSearchSink } from "../../src/elasticsearch/index.js";
import { addPipeline, count, createIndex, deleteIndex, ES_URL, makeApp, range, runApp, uniqueName } from "./helpers.js";

/** A TCP proxy in front of the real node that can be taken down (connections refused) and brought back. */
class Proxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: URL) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const index = uniqueName("bspump-fault");
after(() => deleteIndex(index));

test("the node goes away for 10 s while 100,000 events flow: throttle, retry, every event indexed exactly once", { timeout: 240_000 }, async () => {
  await createIndex(index);
  const proxy = new Proxy(new URL(ES_URL));
  await proxy.up();
  const dead = await closedPort();
  const app = makeApp();
  const conn = app.pumpService.addConnection(
    new ElasticSearchConnection(app, "ES", {
      config: {
        // A second node that refuses every connection: skipped as dead, retried later.
        url: `http://127.0.0.1:${dead};127.0.0.1:${proxy.port}`,
        bulk_out_max_size: 64 * 1024,
        output_queue_max_size: 5,
        loader_per_url: 2,
        retry_backoff: 0.2,
        retry_backoff_max: 2,
        dead_node_retry: 1,
      },
    }),
  );
  const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { config: { index } })]);
  let throttledSeen = 0;
  pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", () => throttledSeen++);
  let outage: Promise<void> | null = null;
  let sentDuringOutage = -1;
  source.afterBatch = async (sent) => {
    if (sent === 30_000) {
      await proxy.down();
      outage = new Promise<void>((resolve) =>
        setTimeout(() => {
          sentDuringOutage = source.sent;
          void proxy.up().then(resolve);
        }, 10_000),
      );
    }
  };
  source.items = range(100_000, (i) => ({ _id: `f${i}`, n: i, text: "x".repeat(40) }));
  assert.equal(await runApp(app, 200), 0);
  await outage;
  await proxy.down();
  assert.equal(pipeline.isError(), false);
  assert.equal(source.sent, 100_000);
  assert.equal(source.settled, 100_000);
  assert.equal(source.failed, 0);
  assert.equal(conn.fail, 0);
  assert.equal(conn.ok, 100_000);
  assert.ok(conn.retries > 0, "bulks were retried");
  assert.ok(conn.pauses > 0, "the full queue paused the sink");
  assert.ok(throttledSeen > 0, "the pipeline was throttled");
  assert.ok(sentDuringOutage < 100_000, `the source was held back during the outage (sent ${sentDuringOutage})`);
  assert.equal(await count(index), 100_000, "every event indexed exactly once by id");
});

/**
 * An HTTP proxy in front of the real node that injects the cluster's "busy" answers: a whole bulk
 * refused with 503/429 a few times, and items of a bulk answer turned into per-item 429
 * (es_rejected_execution_exception) after the node wrote them.
 */
async function busyProxy(target: URL, plan: { refuse: number; itemRejects: number }): Promise<{ url: string; close: () => Promise<void>; refused: number; rejectedItems: number }> {
  const state = { url: "", close: async () => {}, refused: 0, rejectedItems: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const isBulk = req.url?.includes("/_bulk") ?? false;
      if (isBulk && state.refused < plan.refuse) {
        state.refused++;
        res.writeHead(state.refused % 2 ? 503 : 429, { "content-type": "application/json" }).end('{"error":"busy"}');
        return;
      }
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ures) => {
        const body: Buffer[] = [];
        ures.on("data", (c: Buffer) => body.push(c));
        ures.on("end", () => {
          let text = Buffer.concat(body).toString("utf8");
          if (isBulk && ures.statusCode === 200 && state.rejectedItems < plan.itemRejects) {
            const parsed = JSON.parse(text) as { errors: boolean; items: Record<string, { status: number; error?: object }>[] };
            for (const item of parsed.items.slice(0, plan.itemRejects - state.rejectedItems)) {
              const result = Object.values(item)[0]!;
              result.status = 429;
              result.error = { type: "es_rejected_execution_exception", reason: "injected by the test proxy" };
              state.rejectedItems++;
            }
            parsed.errors = true;
            text = JSON.stringify(parsed);
          }
          res.writeHead(ures.statusCode ?? 500, { "content-type": "application/json" }).end(text);
        });
      });
      up.on("error", () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  state.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

const busyIndex = uniqueName("bspump-busy");
after(() => deleteIndex(busyIndex));

test("bulks refused with 503/429 are retried; items refused with 429 are sent again; nothing lost or doubled", { timeout: 120_000 }, async () => {
  await createIndex(busyIndex);
  const proxy = await busyProxy(new URL(ES_URL), { refuse: 4, itemRejects: 25 });
  try {
    const app = makeApp();
    const conn = app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: proxy.url, bulk_out_max_size: 16 * 1024, retry_backoff: 0.05, retry_backoff_max: 0.2 } }));
    const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { config: { index: busyIndex } })]);
    source.items = range(5000, (i) => ({ _id: `b${i}`, n: i }));
    assert.equal(await runApp(app, 100), 0);
    assert.equal(pipeline.isError(), false);
    assert.equal(proxy.refused, 4);
    assert.equal(proxy.rejectedItems, 25);
    assert.ok(conn.retries >= 5, `retries counted (${conn.retries})`);
    assert.equal(conn.fail, 0);
    assert.equal(conn.ok, 5000, "an item is counted once, when it is written");
    assert.equal(source.settled, 5000);
    assert.equal(source.failed, 0);
    assert.equal(await count(busyIndex), 5000);
  } finally {
    await proxy.close();
  }
});
