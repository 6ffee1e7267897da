import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BSPumpApplication, Config, ConfigError } from "../../src/core/index.js";
import { KafkaConnection, KafkaKeyFilter, KafkaTopicInitializer, PartitionTrack, parseTopics, type BatchEntry } from "../../src/kafka/index.js";
import { runPipeline, UnitTestSink } from "../../src/unittest/index.js";

function app(ini: string): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(ini, "<test>"), handleSignals: false });
}

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

test("topics: space or comma separated, ^patterns, no name:partition", () => {
  assert.deepEqual(parseTopics("a b,c", "x"), ["a", "b", "c"]);
  const [p] = parseTopics("^logs-.*", "x");
  assert.ok(p instanceof RegExp && p.test("logs-1"));
  assert.throws(() => parseTopics("a:3", "x"), ConfigError);
  assert.throws(() => parseTopics("  ", "x"), ConfigError);
});

test("KafkaConnection: own section, [kafka] fallback, missing servers, SASL and SSL options", () => {
  const a = app("[connection:K]\nbootstrap_servers = h1:9092, h2:9092\nclient_id = me\n");
  const k = new KafkaConnection(a, "K");
  assert.deepEqual(k.bootstrapServers, ["h1:9092", "h2:9092"]);
  assert.equal(k.clientConfig().clientId, "me");
  assert.equal(k.clientConfig().sasl, undefined);

  const b = app("[kafka]\nbootstrap_servers =\n  g1:9092\n  g2:9092\nsecurity_protocol = SASL_PLAINTEXT\nsasl_mechanisms = SCRAM-SHA-512\nsasl_username = u\nsasl_password = p\n");
  const kb = new KafkaConnection(b, "K2");
  assert.deepEqual(kb.bootstrapServers, ["g1:9092", "g2:9092"]);
  assert.deepEqual(kb.clientConfig().sasl, { mechanism: "scram-sha-512", username: "u", password: "p" });
  assert.equal(kb.settings.toJSON().sasl_password, "***");

  assert.throws(() => new KafkaConnection(app(""), "K3"), /bootstrap_servers/);

  const dir = mkdtempSync(join(tmpdir(), "kafka-ssl-"));
  writeFileSync(join(dir, "ca.pem"), "CA");
  const c = app(`[connection:S]\nbootstrap_servers = s:9093\nsecurity_protocol = SSL\nssl_ca_location = ${join(dir, "ca.pem")}\n`);
  const ssl = new KafkaConnection(c, "S").clientConfig().ssl;
  assert.deepEqual(ssl, { rejectUnauthorized: true, ca: ["CA"] });

  assert.throws(() => new KafkaConnection(app("[connection:Z]\nbootstrap_servers = z:1\ncompression_type = zstd\n"), "Z"), ConfigError);
  assert.throws(() => new KafkaConnection(app("[connection:Z]\nbootstrap_servers = z:1\nbogus = 1\n"), "Z"), /unknown key 'bogus'/);
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
