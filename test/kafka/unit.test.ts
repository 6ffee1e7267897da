import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BSPumpApplication, Config, ConfigError, Pipeline, Receipt } from "../../src/core/index.js";
import { DeliveryLedger } from "../../src/kafka/DeliveryLedger.js";
import { KafkaConnection, KafkaKeyFilter, KafkaSink, KafkaSource, KafkaTopicInitializer, PartitionTrack, parseTopics, type BatchEntry } from "../../src/kafka/index.js";
import { committableOffsets } from "../../src/kafka/PartitionTrack.js";
import { runPipeline, UnitTestSink } from "../../src/unittest/index.js";

function app(ini: string): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(ini, "<test>"), handleSignals: false });
}

test("PartitionTrack drops records fetched before a rewind or a revoke, and only those", () => {
  const track = new PartitionTrack("t", 0);
  assert.ok(track.admits(5, 1), "a fresh partition takes everything");
  // Rewound to 100 while batches 1..3 were taken: until the seek took effect every batch may be stale.
  track.rewind(100);
  assert.equal(track.admits(140, 3), false, "fetched before the rewind");
  assert.equal(track.admits(140, 9), false, "the seek has not taken effect yet");
  track.sought(4);
  assert.equal(track.admits(150, 4), false, "batch 4 was in flight when the seek took effect");
  assert.ok(track.admits(100, 4), "the rewound offset itself comes again");
  assert.ok(track.admits(101, 4), "and what follows it");
  // A rewind whose offset never comes again (retention): a batch taken after the seek is fresh.
  track.rewind(200);
  track.sought(6);
  assert.ok(track.admits(230, 7));
  // Revoked after batch 8 was returned: its partition's records in held batches are stale, even once re-assigned.
  track.revoke(8);
  assert.equal(track.admits(300, 9), false, "not ours");
  track.assign();
  assert.equal(track.admits(300, 8), false, "taken before the revoke");
  assert.ok(track.admits(250, 9), "taken after");
});

test("PartitionTrack: a rewind takes back what was settled past it (an aborted transaction's records are not committable)", () => {
  const track = new PartitionTrack("t", 0);
  track.assign();
  track.committed = 100;
  const entry = { first: 100, next: 150, done: false };
  track.entries.push(entry);
  track.settle(entry);
  assert.deepEqual(committableOffsets([track]), [{ topic: "t", partition: 0, offset: 150 }]);
  // The transaction that handed 100..149 over aborts: the partition goes back to its last commit.
  track.rewind(100);
  assert.deepEqual(committableOffsets([track]), [], "nothing to commit until records are settled again");
  const again = { first: 100, next: 120, done: false };
  track.entries.push(again);
  track.settle(again);
  assert.deepEqual(committableOffsets([track]), [{ topic: "t", partition: 0, offset: 120 }]);
});

test("DeliveryLedger: reports settle each partition's receipts in producing order; keys go where librdkafka puts them", () => {
  const ledger = new DeliveryLedger();
  assert.equal(ledger.partitionsOf("t"), 0, "unknown until set");
  ledger.setPartitions("t", 3);
  // librdkafka's consistent_random: CRC-32 of the key modulo the partition count (checked against it in kafka.test.ts).
  assert.equal(ledger.choose("t", Buffer.from("hello"), 3), 907060870 % 3);
  const keyless = new Set(Array.from({ length: 3000 }, () => ledger.choose("t", null, 3)));
  assert.deepEqual([...keyless].sort(), [0, 1, 2], "keyless records are spread");
  const a = new Receipt(() => {});
  const b = new Receipt(() => {});
  ledger.add("t", 0, a);
  ledger.add("t", 1, a);
  ledger.add("t", 0, a);
  ledger.add("t", 0, b);
  ledger.add("t", 1, undefined);
  // Partition 1 reports first: it settles partition 1's records only.
  assert.equal(ledger.take("t", 1), a);
  assert.equal(ledger.take("t", 1), undefined, "a record without a receipt");
  assert.equal(ledger.take("t", 0), a);
  assert.equal(ledger.take("t", 0), a);
  assert.equal(ledger.take("t", 0), b);
  assert.equal(ledger.take("t", 0), undefined, "nothing left");
  assert.equal(ledger.take("other", 0), undefined);
  assert.ok(DeliveryLedger.usable(true, undefined));
  assert.ok(!DeliveryLedger.usable(false, undefined), "retries may reorder without idempotence");
  assert.ok(!DeliveryLedger.usable(true, "murmur2_random"), "another partitioner: librdkafka chooses, with a token");
});

test("PartitionTrack commits only the contiguous settled prefix", () => {
  const track = new PartitionTrack("t", 0);
  const e = (first: number, next: number): BatchEntry => ({ first, next, done: false });
  const a = e(0, 100), b = e(100, 200), c = e(200, 300);
  track.entries.push(a, b, c);
  track.settle(b);
  assert.equal(track.committable, -1, "b settled before a: nothing committable");
  track.settle(c);
  assert.equal(track.committable, -1);
  track.settle(a);
  assert.equal(track.committable, 300);
  assert.equal(track.entries.length, 0);
  const d = e(300, 310);
  track.entries.push(d);
  track.reset();
  track.settle(d); // an entry of an older epoch is not in the list any more
  assert.equal(track.committable, -1);
});

test("topics: space or comma separated, ^patterns, name:partition pinning (not mixed with whole topics)", () => {
  assert.deepEqual(parseTopics("a b,c", "x"), { subscribe: ["a", "b", "c"], assign: null });
  const [p] = parseTopics("^logs-.*", "x").subscribe;
  assert.ok(p instanceof RegExp && p.test("logs-1"));
  assert.deepEqual(parseTopics("a:3 b:0", "x"), { subscribe: [], assign: [{ topic: "a", partition: 3 }, { topic: "b", partition: 0 }] });
  assert.throws(() => parseTopics("a:3 b", "x"), /cannot be mixed/);
  assert.throws(() => parseTopics("  ", "x"), ConfigError);
});

test("KafkaConnection: own section, [kafka] fallback, missing servers, SASL and SSL, librdkafka pass-through", () => {
  const a = app("[connection:K]\nbootstrap_servers = h1:9092, h2:9092\nclient_id = me\nsocket_keepalive_enable = true\n");
  const k = new KafkaConnection(a, "K");
  assert.deepEqual(k.bootstrapServers, ["h1:9092", "h2:9092"]);
  const props = k.properties();
  assert.equal(props["bootstrap.servers"], "h1:9092,h2:9092");
  assert.equal(props["client.id"], "me");
  assert.equal(props["sasl.mechanisms"], undefined);
  assert.equal(props["socket.keepalive.enable"], "true", "an undeclared key goes to librdkafka with _ read as .");

  const b = app("[kafka]\nbootstrap_servers =\n  g1:9092\n  g2:9092\nsecurity_protocol = SASL_PLAINTEXT\nsasl_mechanisms = SCRAM-SHA-512\nsasl_username = u\nsasl_password = p\n");
  const kb = new KafkaConnection(b, "K2");
  assert.deepEqual(kb.bootstrapServers, ["g1:9092", "g2:9092"]);
  const sasl = kb.properties();
  assert.deepEqual([sasl["security.protocol"], sasl["sasl.mechanisms"], sasl["sasl.username"], sasl["sasl.password"]], ["sasl_plaintext", "SCRAM-SHA-512", "u", "p"]);
  assert.equal(kb.settings.toJSON().sasl_password, "***");

  assert.throws(() => new KafkaConnection(app(""), "K3"), /bootstrap_servers/);

  const dir = mkdtempSync(join(tmpdir(), "kafka-ssl-"));
  writeFileSync(join(dir, "ca.pem"), "CA");
  const c = app(`[connection:S]\nbootstrap_servers = s:9093\nsecurity_protocol = SSL\nssl_ca_location = ${join(dir, "ca.pem")}\nssl_check_hostname = no\n`);
  const ssl = new KafkaConnection(c, "S").properties();
  assert.equal(ssl["ssl.ca.location"], join(dir, "ca.pem"));
  assert.equal(ssl["enable.ssl.certificate.verification"], false);

  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) assert.equal(new KafkaConnection(app(`[connection:Z]\nbootstrap_servers = z:1\ncompression_type = ${codec}\n`), "Z").compressionOf(""), codec);
  assert.throws(() => new KafkaConnection(app("[connection:Z]\nbootstrap_servers = z:1\ncompression_type = brotli\n"), "Z"), /compression_type/);
});

test("KafkaKeyFilter passes only the listed keys", async () => {
  const input = [
    [{ kafka_key: Buffer.from("a") }, 1],
    [{ kafka_key: Buffer.from("b") }, 2],
    [{ kafka_key: null }, 3],
    [{ kafka_key: Buffer.from([0xff]) }, 4],
    [{ kafka_key: "a" }, 5],
  ] as const;
  const result = await runPipeline(input, (a, p) => [new KafkaKeyFilter(a, p, ["a", Buffer.from([0xff])]), new UnitTestSink(a, p)]);
  assert.deepEqual(result.events, [1, 4, 5]);
  assert.equal(result.pipeline.eventDrop, 2);
});

test("KafkaTopicInitializer reads a YAML topics file (with BSPump's deprecated aliases) and defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "kafka-topics-"));
  const file = join(dir, "topics.yaml");
  writeFileSync(file, "- topic: one\n  num_partitions: 6\n  config:\n    retention.ms: 1000\n- name: two\n  topic_configs:\n    cleanup.policy: compact\n");
  const a = app(`[connection:K]\nbootstrap_servers = x:1\n[KafkaTopicInitializer]\ntopics_file = ${file}\nreplication_factor_default = 1\nnum_partitions_default = 2\n`);
  a.pumpService.addConnection(new KafkaConnection(a, "K"));
  const init = new KafkaTopicInitializer(a, "K");
  assert.deepEqual(init.required.get("one"), { topic: "one", numPartitions: 6, replicationFactor: 1, configs: { "retention.ms": "1000" } });
  assert.deepEqual(init.required.get("two"), { topic: "two", numPartitions: 2, replicationFactor: 1, configs: { "cleanup.policy": "compact" } });
  init.includeTopics({ topicConfig: { topic: "three", replication_factor: 1 } });
  assert.equal(init.required.size, 3);
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "topic: x\n");
  assert.throws(() => new KafkaTopicInitializer(a, "K", { id: "Other", config: { topics_file: bad } }), /expected a list/);
});

test("BSPump's KafkaSource and KafkaSink keys (its own defaults, as a user's .conf has them) are accepted and mapped", () => {
  const a = app(
    [
      "[connection:KafkaConnection]",
      "bootstrap_servers = k:9092",
      "[pipeline:P:KafkaSource]",
      "topic = t1 t2",
      "refresh_topics = 2",
      "consumer_threads = 1",
      "poll_interval = 0.3",
      "buffer_size = 1000",
      "buffer_timeout = 1.0",
      "sleep_on_error = 3.0",
      "sleep_on_retryable_error = 60.0",
      "check_assignment_errors = 5.0",
      "errors_max_retry_attempts = 100",
      "enable.auto.offset.store = false",
      "enable.auto.commit = false",
      "auto.commit.interval.ms = 1000",
      "auto.offset.reset = earliest",
      "group.id = my-group",
      "fetch.min.bytes = 10",
      "[pipeline:P:KafkaSink]",
      "topic = out",
      "watermark.low = 10000",
      "watermark.high = 20000",
      "poll.timeout = 0.1",
      "queue.buffering.max.messages = 30000",
      "batch.num.messages = 10000",
      "linger.ms = 500",
      "queue.buffering.max.kbytes = 2561024",
      "batch.size = 1000000",
      "acks = all",
      "compression.type = zstd",
      "message.timeout.ms = 120000",
    ].join("\n"),
  );
  a.pumpService.addConnection(new KafkaConnection(a, "KafkaConnection"));
  const p = new Pipeline(a, "P");
  const source = new KafkaSource(a, p, "KafkaConnection");
  const sink = new KafkaSink(a, p, "KafkaConnection");
  const c = source.consumerProperties();
  assert.equal(source.groupId, "my-group");
  assert.equal(c["group.id"], "my-group");
  assert.equal(c["auto.offset.reset"], "earliest");
  assert.equal(c["enable.auto.commit"], false);
  assert.equal(c["topic.metadata.refresh.interval.ms"], 2000, "refresh_topics (s) → librdkafka's metadata refresh");
  assert.equal(c["fetch.min.bytes"], "10", "a librdkafka key goes through");
  const s = sink.producerProperties();
  assert.equal(s.acks, -1);
  assert.equal(s["compression.type"], "zstd");
  assert.equal(s["linger.ms"], 500);
  assert.equal(s["message.timeout.ms"], "120000");

  // BSPump's `_` spelling means the same key; both given and different is refused.
  const b = app("[connection:K]\nbootstrap_servers = k:9092\n[pipeline:Q:KafkaSource]\ntopic = t\ngroup_id = g2\nauto_offset_reset = latest\n");
  b.pumpService.addConnection(new KafkaConnection(b, "K"));
  const q = new KafkaSource(b, new Pipeline(b, "Q"), "K");
  assert.equal(q.groupId, "g2");
  assert.equal(q.consumerProperties()["auto.offset.reset"], "latest");
  const clash = app("[connection:K]\nbootstrap_servers = k:9092\n[pipeline:Q:KafkaSource]\ntopic = t\ngroup_id = g2\ngroup.id = g3\n");
  clash.pumpService.addConnection(new KafkaConnection(clash, "K"));
  assert.throws(() => new KafkaSource(clash, new Pipeline(clash, "Q"), "K"), /name the same setting/);
  // Committing before settling would lose records on a crash: refused, with the reason.
  const auto = app("[connection:K]\nbootstrap_servers = k:9092\n[pipeline:Q:KafkaSource]\ntopic = t\nenable.auto.commit = true\n");
  auto.pumpService.addConnection(new KafkaConnection(auto, "K"));
  assert.throws(() => new KafkaSource(auto, new Pipeline(auto, "Q"), "K"), /before they are settled/);
  // Unknown codec and idempotence without acks=all: clear config errors.
  const bad = app("[connection:K]\nbootstrap_servers = k:9092\n[pipeline:Q:KafkaSink]\ncompression.type = brotli\n");
  bad.pumpService.addConnection(new KafkaConnection(bad, "K"));
  assert.throws(() => new KafkaSink(bad, new Pipeline(bad, "Q"), "K"), /unknown compression 'brotli'/);
  const acks = app("[connection:K]\nbootstrap_servers = k:9092\n[pipeline:Q:KafkaSink]\nacks = 1\n");
  acks.pumpService.addConnection(new KafkaConnection(acks, "K"));
  assert.throws(() => new KafkaSink(acks, new Pipeline(acks, "Q"), "K"), /idempotence needs acks = all/);
});
