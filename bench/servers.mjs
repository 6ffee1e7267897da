// The Node.js systems of the server workloads (run by bench/main.mjs when the servers answer).
// Each run is its own process and prints one JSON line like bench/pump.mjs. The topics/indices
// are created, counted and deleted by bench/main.mjs (bench/servers-admin.mjs); a run only uses them.
//
//   node bench/servers.mjs K1 pump|floor <broker> <input-topic> <output-topic> <group> <events>
//   node bench/servers.mjs E1 pump|floor <url> <data-file> <index> <events>
//
// K1 kafka-enrich: Kafka → JSON parse → add a field → JSON → Kafka (issue 5's benchmark).
// E1 es-sink: a file of JSON lines → JSON parse → Elasticsearch/OpenSearch `_bulk` (issue 6's).
// events/s is measured from the first event (K1: consumed; E1: the source's cycle start) until
// the last one is acknowledged by the server (K1: produce acks; E1: bulk responses).
import { closeSync, openSync, readSync } from "node:fs";

const [workload, system, ...args] = process.argv.slice(2);
process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

/** Settings both Node systems share with the original (bench/original_servers.py). */
export const BULK_BYTES = 1 << 20; // bulk_out_max_size of every E1 system
const LOADERS = 4; // loader_per_url (BSPump's default): bulks in flight
const LINGER_MS = 5; // linger.ms of every K1 producer (the default 500 would only add a tail wait)

const report = (fields) => {
  process.stdout.write(JSON.stringify({ system, workload, maxrss_kb: process.resourceUsage().maxRSS, ...fields }) + "\n");
};

/** Resolves when pred() holds, checked every 2 ms. */
const until = (pred) =>
  new Promise((resolve) => {
    const t = setInterval(() => {
      if (pred()) {
        clearInterval(t);
        resolve();
      }
    }, 2);
  });

// ------------------------------------------------------------------ K1 kafka-enrich
async function k1Floor(broker, input, output, group, n) {
  const { Kafka, logLevel, Partitioners } = await import("kafkajs");
  const kafka = new Kafka({ clientId: "bench-floor", brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: group });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  let t0 = 0;
  let done = 0;
  await new Promise((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (t0 === 0) t0 = performance.now();
          const messages = new Array(batch.messages.length);
          for (let i = 0; i < batch.messages.length; i++) {
            const m = batch.messages[i];
            const event = JSON.parse(m.value.toString("utf8"));
            event.processed = true;
            messages[i] = { key: m.key, value: JSON.stringify(event) };
          }
          // Produce requests below the broker's message size limit.
          for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic: output, messages: messages.slice(i, i + 5000), acks: -1 });
          done += messages.length;
          if (done >= n) resolve();
        },
      })
      .catch(reject);
  });
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  report({ events: done, seconds });
}

async function k1Pump(broker, input, output, group, n) {
  const core = await import("../dist/src/core/index.js");
  const common = await import("../dist/src/common/index.js");
  const { KafkaConnection, KafkaSource, KafkaSink } = await import("../dist/src/kafka/index.js");
  let t0 = 0;
  class AddField extends core.Processor {
    process(_context, event) {
      if (t0 === 0) t0 = performance.now();
      event.processed = true;
      return event;
    }
  }
  const config = core.Config.fromString(
    `[connection:Kafka]\nbootstrap_servers = ${broker}\n[pipeline:Bench:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n` +
      `[pipeline:Bench:KafkaSink]\ntopic = ${output}\nlinger.ms = ${LINGER_MS}\n[logging]\nlevel = warn\n`,
    "<bench>",
  );
  const app = new core.BSPumpApplication({ args: [], config, handleSignals: false });
  app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
  const pipeline = new core.Pipeline(app, "Bench");
  const sink = new KafkaSink(app, pipeline, "Kafka");
  pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new common.StdJsonToDictParser(app, pipeline), new AddField(app, pipeline), new common.DictToJsonBytesParser(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => sink.delivered + sink.failed >= n || pipeline.isError());
  const seconds = (performance.now() - t0) / 1000;
  app.stop();
  await running;
  if (pipeline.isError()) throw pipeline.error.error;
  if (sink.failed) throw new Error(`${sink.failed} sends failed`);
  report({ events: pipeline.eventIn, seconds });
}

// ------------------------------------------------------------------ E1 es-sink
async function e1Floor(url, file, index, n) {
  const { ElasticSearchClient } = await import("../dist/src/elasticsearch/index.js");
  // The same HTTP client as the sink (keep-alive), as issue 6 asks; everything else is a plain loop.
  const es = new ElasticSearchClient({ urls: [url], timeout: 300, maxSockets: LOADERS * 2 + 4 });
  const inFlight = new Set();
  let ok = 0;
  const send = async (body, items) => {
    const res = await es.requestWithRetry("POST", `${index}/_bulk?filter_path=errors,took,items.*.error,items.*.status,items.*._id`, Buffer.from(body), { contentType: "application/x-ndjson", retries: 0 });
    const parsed = JSON.parse(res.body.toString("utf8"));
    if (res.status !== 200 || parsed.errors) throw new Error(`bulk failed: ${res.status}`);
    ok += items;
  };
  const t0 = performance.now();
  let body = "";
  let items = 0;
  let lines = 0;
  const onLine = (line) => {
    lines++;
    body += `{"create":{}}\n${JSON.stringify(JSON.parse(line))}\n`;
    items++;
    if (body.length < BULK_BYTES) return null;
    const p = send(body, items).finally(() => inFlight.delete(p));
    inFlight.add(p);
    body = "";
    items = 0;
    return inFlight.size >= LOADERS ? Promise.race(inFlight) : null;
  };
  // 1 MiB reads into one Buffer, lines found by byte search, a string per line.
  const fd = openSync(file, "r");
  let buf = Buffer.allocUnsafe(1 << 20);
  let filled = 0;
  for (;;) {
    if (filled === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const r = readSync(fd, buf, filled, buf.length - filled, null);
    const end = filled + r;
    let start = 0;
    let nl;
    while ((nl = buf.indexOf(10, start)) !== -1 && nl < end) {
      const wait = nl > start ? onLine(buf.toString("utf8", start, nl)) : null;
      start = nl + 1;
      if (wait) await wait;
    }
    if (r === 0) {
      if (start < end) await onLine(buf.toString("utf8", start, end));
      break;
    }
    buf.copy(buf, 0, start, end);
    filled = end - start;
  }
  closeSync(fd);
  if (body !== "") await send(body, items);
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  es.close();
  if (ok !== n) throw new Error(`floor acknowledged ${ok} of ${n} documents`);
  report({ events: lines, seconds });
}

async function e1Pump(url, file, index, n) {
  const core = await import("../dist/src/core/index.js");
  const common = await import("../dist/src/common/index.js");
  const { FileLineSource } = await import("../dist/src/file/index.js");
  const { ElasticSearchConnection, ElasticSearchSink } = await import("../dist/src/elasticsearch/index.js");
  const app = new core.BSPumpApplication({ args: [], config: core.Config.fromString("[logging]\nlevel = warn\n", "<bench>"), handleSignals: false });
  const connection = new ElasticSearchConnection(app, "ES", { config: { url, bulk_out_max_size: BULK_BYTES, loader_per_url: LOADERS } });
  app.pumpService.addConnection(connection);
  const pipeline = new core.Pipeline(app, "Bench");
  const source = new FileLineSource(app, pipeline, { config: { path: file, post: "noop" } });
  source.on(new core.RunOnceTrigger(app));
  pipeline.build(source, new common.StdJsonToDictParser(app, pipeline), new ElasticSearchSink(app, pipeline, "ES", { config: { index } }));
  app.pumpService.addPipeline(pipeline);
  let t0 = 0;
  let t1 = 0;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_begin!", () => {
    if (t0 === 0) t0 = performance.now();
  });
  const acked = until(() => connection.ok + connection.fail >= n || pipeline.isError()).then(() => (t1 = performance.now()));
  const code = await app.run();
  await Promise.race([acked, new Promise((r) => setTimeout(r, 1000))]);
  if (pipeline.isError()) throw pipeline.error.error;
  if (connection.ok !== n) throw new Error(`sink acknowledged ${connection.ok} of ${n} documents (${connection.fail} failed, exit ${code})`);
  report({ events: pipeline.eventIn, seconds: (t1 - t0) / 1000 });
}

const systems = { K1: { floor: k1Floor, pump: k1Pump }, E1: { floor: e1Floor, pump: e1Pump } };
const run = systems[workload]?.[system];
if (!run) {
  process.stderr.write("usage: node bench/servers.mjs K1|E1 pump|floor …\n");
  process.exit(2);
}
const n = Number(args.at(-1));
await run(...args.slice(0, -1), n);
process.exit(0);
