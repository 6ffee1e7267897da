// The Node.js systems of the server workloads (run by bench/main.mjs when the servers answer).
// Each run is its own process and prints one JSON line like bench/pump.mjs. The topics/indices
// are created, counted and deleted by bench/main.mjs (bench/servers-admin.mjs); a run only uses them.
//
//   node bench/servers.mjs K1 pump|pump-eos|floor|floor-stock|floor-kafkajs <broker> <input-topic> <output-topic> <group> <events>
//   node bench/servers.mjs K1-consume pump|floor|floor-stock <broker> <input-topic> <group> <events>
//   node bench/servers.mjs K1-produce pump|floor|floor-stock <broker> <data-file> <output-topic> <events>
//   node bench/servers.mjs E1 pump|floor <url> <data-file> <index> <events>
//
// K1 kafka-enrich: Kafka → JSON parse → add a field → JSON → Kafka (issue 5's benchmark); the
// floors are plain loops over @confluentinc/kafka-javascript's native API, in the batch forms of
// the project's patch of it (src/kafka/kafka-javascript.patch), as the pump uses it (floor-stock: the
// stock forms, an object per record and a call per delivery report; floor-kafkajs: the old client). K1-consume: Kafka → counting sink. K1-produce: a file of JSON lines → Kafka (issue 14).
// E1 es-sink: a file of JSON lines → JSON parse → Elasticsearch/OpenSearch `_bulk` (issue 6's).
// events/s is measured from the first event (consumed from Kafka, or the file source's cycle start)
// until the last one is acknowledged by the server (produce acks, bulk responses) or, in
// K1-consume, counted by the sink.
import { closeSync, openSync, readSync } from "node:fs";

const [workload, system, ...args] = process.argv.slice(2);
process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

/** Settings both Node systems share with the original (bench/original_servers.py). */
export const BULK_BYTES = 1 << 20; // bulk_out_max_size of every E1 system
const LOADERS = 4; // loader_per_url (BSPump's default): bulks in flight
const LINGER_MS = 5; // linger.ms of every Kafka producer (the default 500 would only add a tail wait)

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

// ------------------------------------------------------------------ the native Kafka client
// The floors of the Kafka workloads: plain loops over @confluentinc/kafka-javascript's native
// (node-rdkafka-style) API, the client src/kafka is moving to.
// Most messages per consume() call: 100 was as fast as 1,000 in K1 and faster in K1-consume, with
// less RSS (bench/NOTES.md).
const CONSUME_BATCH = 100;

let nativeModule = null;
const nativeKafka = async () => (nativeModule ??= (await import("@confluentinc/kafka-javascript")).default);
/** The floors in the patch's batch forms: every floor but floor-stock. */
const PACKED = system === "floor" && workload.startsWith("K1");
if (PACKED && typeof (await nativeKafka()).KafkaConsumer.prototype.consumePacked !== "function") {
  throw new Error("the Kafka client does not carry the project's patch (scripts/build-native builds it)");
}
const connected = (client) => new Promise((resolve, reject) => client.connect({}, (err) => (err ? reject(err) : resolve())));
const disconnected = (client) => new Promise((resolve) => client.disconnect(() => resolve()));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A consumer of `topic` from its beginning, in a fresh group, committing nothing. */
async function nativeConsumer(broker, topic, group) {
  const { KafkaConsumer } = await nativeKafka();
  // auto.offset.reset belongs in the topic config: in the global one the default topic config overrides it.
  const consumer = new KafkaConsumer({ "bootstrap.servers": broker, "group.id": group, "enable.auto.commit": false }, { "auto.offset.reset": "earliest" });
  await connected(consumer);
  // consume(n) waits only for the first message, then takes what has already arrived (up to n).
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.subscribe([topic]);
  return consumer;
}

/** Calls onBatch(batch, size) for each non-empty batch until it returns (or resolves to) true. */
async function consumeUntil(consumer, onBatch) {
  for (;;) {
    const batch = await new Promise((resolve, reject) => {
      const done = (err, b) => (err ? reject(err) : resolve(b));
      if (PACKED) consumer.consumePacked(CONSUME_BATCH, done);
      else consumer.consume(CONSUME_BATCH, done);
    });
    const size = PACKED ? batch.topics.length : batch.length;
    if (size !== 0 && (await onBatch(batch, size))) return;
  }
}

/**
 * handle(value, key) for each message of a batch, awaited when it returns a promise. The packed
 * form: one buffer of values and keys and 7 numbers per message (src/kafka/rdkafkaPacked.ts).
 */
async function eachMessage(batch, handle) {
  if (!PACKED) {
    for (const m of batch) {
      const wait = handle(m.value, m.key);
      if (wait) await wait;
    }
    return;
  }
  const { data, table } = batch;
  for (let row = 0; row < table.length; row += 7) {
    const start = table[row + 3];
    const keyLength = table[row + 6];
    const wait = handle(data.subarray(start, start + table[row + 4]), keyLength < 0 ? null : data.subarray(table[row + 5], table[row + 5] + keyLength));
    if (wait) await wait;
  }
}

/**
 * An idempotent producer (acks=all) counting its delivery reports. produce() returns null, or a
 * promise while librdkafka's local queue is full (its only back-pressure): await it before the next.
 */
async function nativeProducer(broker) {
  const { Producer, CODES } = await nativeKafka();
  const forms = PACKED ? { dr_compact: true } : { dr_cb: true };
  const producer = new Producer({ "bootstrap.servers": broker, "enable.idempotence": true, acks: "all", "linger.ms": LINGER_MS, ...forms });
  await connected(producer);
  // Delivery reports handed over by librdkafka's background thread: faster in K1 than a JS timer
  // polling every 1, 5 or 20 ms (setPollInterval), and ~30 MB less RSS (bench/NOTES.md).
  producer.setPollInBackground(true);
  const out = { producer, delivered: 0, failed: 0, error: null };
  producer.on("delivery-report", (err) => {
    if (err) {
      out.failed++;
      out.error ??= err;
    } else out.delivered++;
  });
  // The patch's form: five entries per run of reports (topic, partition, error or 0, count, opaque).
  producer.on("delivery-reports", (runs) => {
    for (let i = 0; i < runs.length; i += 5) {
      if (runs[i + 2] === 0) out.delivered += runs[i + 3];
      else {
        out.failed += runs[i + 3];
        out.error ??= runs[i + 2];
      }
    }
  });
  const send = (topic, value, key) => {
    try {
      producer.produce(topic, null, value, key);
      return true;
    } catch (e) {
      if (e.code === CODES.ERRORS.ERR__QUEUE_FULL) return false; // librdkafka's local queue is full
      throw e;
    }
  };
  const retry = async (topic, value, key) => {
    do await sleep(1);
    while (!send(topic, value, key));
  };
  out.produce = (topic, value, key) => (send(topic, value, key) ? null : retry(topic, value, key));
  /** Resolves when n reports have come; throws if any was a failure. */
  out.reported = async (n) => {
    await until(() => out.delivered + out.failed >= n);
    if (out.failed) throw new Error(`${out.failed} of ${n} deliveries failed: ${out.error.message}`);
  };
  return out;
}

// ------------------------------------------------------------------ the pump's Kafka pipelines
/** A bspump application with the connection `Kafka`, the given config sections and an empty pipeline `Bench`. */
async function kafkaPump(broker, sections) {
  const core = await import("../dist/src/core/index.js");
  const kafka = await import("../dist/src/kafka/index.js");
  const config = core.Config.fromString(`[connection:Kafka]\nbootstrap_servers = ${broker}\n${sections}[logging]\nlevel = warn\n`, "<bench>");
  const app = new core.BSPumpApplication({ args: [], config, handleSignals: false });
  app.pumpService.addConnection(new kafka.KafkaConnection(app, "Kafka"));
  return { core, kafka, app, pipeline: new core.Pipeline(app, "Bench") };
}

/** Runs a built pipeline until done() (or an error); returns the seconds since t0() at that moment. */
async function runUntil(app, pipeline, done, t0) {
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => done() || pipeline.isError());
  const seconds = (performance.now() - t0()) / 1000;
  app.stop();
  await running;
  if (pipeline.isError()) throw pipeline.error.error;
  return seconds;
}

/**
 * FileLineSource (default mode, `post = noop`, RunOnceTrigger) → stages: returns the seconds from
 * the source's cycle start until acked() reached n, which it must within 1 s of the application's stop.
 */
async function runFilePump(core, app, pipeline, file, stages, acked, n, mode = "r") {
  const { FileLineSource } = await import("../dist/src/file/index.js");
  const source = new FileLineSource(app, pipeline, { config: { path: file, post: "noop", mode } });
  source.on(new core.RunOnceTrigger(app));
  pipeline.build(source, ...stages);
  app.pumpService.addPipeline(pipeline);
  let t0 = 0;
  let t1 = 0;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_begin!", () => {
    if (t0 === 0) t0 = performance.now();
  });
  const done = until(() => acked() >= n || pipeline.isError()).then(() => (t1 = performance.now()));
  const code = await app.run();
  await Promise.race([done, sleep(1000)]);
  if (pipeline.isError()) throw pipeline.error.error;
  if (acked() !== n) throw new Error(`the sink acknowledged ${acked()} of ${n} events (exit ${code})`);
  return (t1 - t0) / 1000;
}

// ------------------------------------------------------------------ K1 kafka-enrich
// The floors write what the pump's DictToJsonBytesParser writes by default, and the original's
// json.dumps: BSPump's JSON form (`{"a": 1}`), with the same function.
async function k1Floor(broker, input, output, group, n) {
  const { pythonJsonDumpsBytes } = await import("../dist/src/codec/index.js");
  const [consumer, out] = await Promise.all([nativeConsumer(broker, input, group), nativeProducer(broker)]);
  let t0 = 0;
  let done = 0;
  await consumeUntil(consumer, async (batch, size) => {
    if (t0 === 0) t0 = performance.now();
    await eachMessage(batch, (value, key) => {
      const event = JSON.parse(value.toString("utf8"));
      event.processed = true;
      return out.produce(output, pythonJsonDumpsBytes(event), key);
    });
    return (done += size) >= n;
  });
  await out.reported(n);
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([disconnected(consumer), disconnected(out.producer)]);
  report({ events: done, seconds });
}

/** The old client's plain loop (kafkajs `eachBatch`, as in bench/kafka.ts): informational. */
async function k1FloorKafkajs(broker, input, output, group, n) {
  const { Kafka, logLevel, Partitioners } = await import("kafkajs");
  const { pythonJsonDumps } = await import("../dist/src/codec/index.js");
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
            messages[i] = { key: m.key, value: pythonJsonDumps(event) };
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
  const { core, kafka, app, pipeline } = await kafkaPump(
    broker,
    `[pipeline:Bench:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n[pipeline:Bench:KafkaSink]\ntopic = ${output}\nlinger.ms = ${LINGER_MS}\n`,
  );
  const common = await import("../dist/src/common/index.js");
  let t0 = 0;
  class AddField extends core.Processor {
    process(_context, event) {
      if (t0 === 0) t0 = performance.now();
      event.processed = true;
      return event;
    }
  }
  const sink = new kafka.KafkaSink(app, pipeline, "Kafka");
  pipeline.build(new kafka.KafkaSource(app, pipeline, "Kafka"), new common.StdJsonToDictParser(app, pipeline), new AddField(app, pipeline), new common.DictToJsonBytesParser(app, pipeline), sink);
  const seconds = await runUntil(app, pipeline, () => sink.delivered + sink.failed >= n, () => t0);
  if (sink.failed) throw new Error(`${sink.failed} sends failed`);
  report({ events: pipeline.eventIn, seconds });
}

/**
 * K1 with `exactly_once = true` on the source and the sink (issue 15 item 3): outputs and offsets
 * in transactions; timed until the group's offsets of every input record are committed (with
 * their transaction), not only until the records were delivered.
 */
async function k1PumpEos(broker, input, output, group, n) {
  const { core, kafka, app, pipeline } = await kafkaPump(
    broker,
    `[pipeline:Bench:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\nexactly_once = true\n[pipeline:Bench:KafkaSink]\ntopic = ${output}\nlinger.ms = ${LINGER_MS}\nexactly_once = true\n`,
  );
  const common = await import("../dist/src/common/index.js");
  let t0 = 0;
  class AddField extends core.Processor {
    process(_context, event) {
      if (t0 === 0) t0 = performance.now();
      event.processed = true;
      return event;
    }
  }
  const source = new kafka.KafkaSource(app, pipeline, "Kafka");
  const sink = new kafka.KafkaSink(app, pipeline, "Kafka");
  pipeline.build(source, new common.StdJsonToDictParser(app, pipeline), new AddField(app, pipeline), new common.DictToJsonBytesParser(app, pipeline), sink);
  // Not describe(): it asks the client for positions and watermarks, ~0.3 ms of the main thread a
  // call, ~0.6 s per run at a check every 2 ms — time the at-least-once run's check does not spend.
  const committed = () => source.committedOffsets().reduce((s, p) => s + p.offset, 0);
  const seconds = await runUntil(app, pipeline, () => committed() >= n, () => t0);
  if (sink.failed) throw new Error(`${sink.failed} sends failed`);
  report({ events: pipeline.eventIn, seconds, commits: source.exactlyOnce.txn.commits, aborts: source.exactlyOnce.txn.aborts });
}

// ------------------------------------------------------------------ K1-consume: Kafka → counting sink
async function k1ConsumeFloor(broker, input, group, n) {
  const consumer = await nativeConsumer(broker, input, group);
  let t0 = 0;
  let count = 0;
  await consumeUntil(consumer, (_batch, size) => {
    if (t0 === 0) t0 = performance.now();
    return (count += size) >= n;
  });
  const seconds = (performance.now() - t0) / 1000;
  await disconnected(consumer);
  report({ events: count, seconds });
}

async function k1ConsumePump(broker, input, group, n) {
  const { core, kafka, app, pipeline } = await kafkaPump(broker, `[pipeline:Bench:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n`);
  let t0 = 0;
  class CountingSink extends core.Sink {
    count = 0;
    process() {
      if (t0 === 0) t0 = performance.now();
      this.count++;
      return null;
    }
  }
  const sink = new CountingSink(app, pipeline);
  pipeline.build(new kafka.KafkaSource(app, pipeline, "Kafka"), sink);
  const seconds = await runUntil(app, pipeline, () => sink.count >= n, () => t0);
  report({ events: sink.count, seconds });
}

// ------------------------------------------------------------------ K1-produce: file of JSON lines → Kafka
async function k1ProduceFloor(broker, file, output, n) {
  const out = await nativeProducer(broker);
  const t0 = performance.now();
  // The line is a view into the read buffer: produce() copies it.
  const lines = await forEachLine(file, (buf, start, end) => out.produce(output, buf.subarray(start, end)));
  await out.reported(n);
  const seconds = (performance.now() - t0) / 1000;
  await disconnected(out.producer);
  report({ events: lines, seconds });
}

async function k1ProducePump(broker, file, output, n) {
  const { core, kafka, app, pipeline } = await kafkaPump(broker, `[pipeline:Bench:KafkaSink]\ntopic = ${output}\nlinger.ms = ${LINGER_MS}\n`);
  const sink = new kafka.KafkaSink(app, pipeline, "Kafka");
  // Bytes per line, as the original's FileLineSource (its default `rb`) and the floor hand them to Kafka.
  const seconds = await runFilePump(core, app, pipeline, file, [sink], () => sink.delivered, n, "rb");
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
  const onLine = (line) => {
    body += `{"create":{}}\n${JSON.stringify(JSON.parse(line))}\n`;
    items++;
    if (body.length < BULK_BYTES) return null;
    const p = send(body, items).finally(() => inFlight.delete(p));
    inFlight.add(p);
    body = "";
    items = 0;
    return inFlight.size >= LOADERS ? Promise.race(inFlight) : null;
  };
  const lines = await forEachLine(file, (buf, start, end) => onLine(buf.toString("utf8", start, end)));
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
  const { ElasticSearchConnection, ElasticSearchSink } = await import("../dist/src/elasticsearch/index.js");
  const app = new core.BSPumpApplication({ args: [], config: core.Config.fromString("[logging]\nlevel = warn\n", "<bench>"), handleSignals: false });
  const connection = new ElasticSearchConnection(app, "ES", { config: { url, bulk_out_max_size: BULK_BYTES, loader_per_url: LOADERS } });
  app.pumpService.addConnection(connection);
  const pipeline = new core.Pipeline(app, "Bench");
  const stages = [new common.StdJsonToDictParser(app, pipeline), new ElasticSearchSink(app, pipeline, "ES", { config: { index } })];
  const seconds = await runFilePump(core, app, pipeline, file, stages, () => connection.ok, n);
  if (connection.fail) throw new Error(`${connection.fail} documents failed`);
  report({ events: pipeline.eventIn, seconds });
}

// ------------------------------------------------------------------ shared
/**
 * Reads a file of lines the plain way (1 MiB reads into one Buffer, lines found by byte search) and
 * calls onLine(buffer, start, end) for each non-empty line; when it returns a promise, the next line
 * waits for it. Returns the number of lines.
 */
async function forEachLine(file, onLine) {
  const fd = openSync(file, "r");
  let buf = Buffer.allocUnsafe(1 << 20);
  let filled = 0;
  let lines = 0;
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
      if (nl > start) {
        lines++;
        const wait = onLine(buf, start, nl);
        if (wait) await wait;
      }
      start = nl + 1;
    }
    if (r === 0) {
      if (start < end) {
        lines++;
        await onLine(buf, start, end);
      }
      break;
    }
    buf.copy(buf, 0, start, end);
    filled = end - start;
  }
  closeSync(fd);
  return lines;
}

const systems = {
  K1: { floor: k1Floor, "floor-stock": k1Floor, "floor-kafkajs": k1FloorKafkajs, pump: k1Pump, "pump-eos": k1PumpEos },
  "K1-consume": { floor: k1ConsumeFloor, "floor-stock": k1ConsumeFloor, pump: k1ConsumePump },
  "K1-produce": { floor: k1ProduceFloor, "floor-stock": k1ProduceFloor, pump: k1ProducePump },
  E1: { floor: e1Floor, pump: e1Pump },
};
const run = systems[workload]?.[system];
if (!run) {
  process.stderr.write("usage: node bench/servers.mjs K1|K1-consume|K1-produce|E1 pump|floor|floor-kafkajs … (see the top of bench/servers.mjs)\n");
  process.exit(2);
}
const n = Number(args.at(-1));
await run(...args.slice(0, -1), n);
process.exit(0);
