// Set-up, checks and clean-up of the server workloads for bench/main.mjs: is a server up, the
// K1 input topic, one output topic / index per run (unique names), counting what each run wrote,
// deleting everything afterwards. Only ever talks to 127.0.0.1 (or the BSPUMP_* overrides).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const KAFKA_BROKER = (process.env.BSPUMP_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",")[0].trim();
export const OPENSEARCH_URL = (process.env.BSPUMP_OPENSEARCH_URL ?? "http://127.0.0.1:9200").replace(/\/$/, "");
export const K1_PARTITIONS = 3;

/** Does the test server answer? Asks scripts/services/status (it knows the ports and probes). */
export function serverUp(name) {
  try {
    execFileSync("bash", ["scripts/services/status", name], { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ Kafka
let kafka = null;
let admin = null;
async function kafkaAdmin() {
  if (admin) return admin;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
  const { Kafka, logLevel } = await import("kafkajs");
  kafka = new Kafka({ clientId: "bench-admin", brokers: [KAFKA_BROKER], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  return admin;
}

const kafkaTopics = [];
const kafkaGroups = [];

export async function createTopic(topic, partitions = K1_PARTITIONS) {
  const a = await kafkaAdmin();
  await a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
  kafkaTopics.push(topic);
}

export function noteGroup(group) {
  kafkaGroups.push(group);
}

/** The K1 input: every line of the JSON-lines file as one message, keyed by its user. */
export async function fillTopic(topic, file, partitions = K1_PARTITIONS) {
  await createTopic(topic, partitions);
  const { Partitioners } = await import("kafkajs");
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  for (let i = 0; i < lines.length; i += 5000) {
    const messages = lines.slice(i, i + 5000).map((value) => ({ key: JSON.parse(value).user, value }));
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
  return lines.length;
}

/** Messages in a topic: the sum of its partitions' high watermarks (topics start empty). */
export async function topicCount(topic) {
  const a = await kafkaAdmin();
  const offsets = await a.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/**
 * Records a read_committed consumer (kafkajs' default) reads from a topic: committed transactions
 * only, without their markers (which high watermarks count). Read until nothing came for 3 s.
 */
export async function committedCount(topic) {
  await kafkaAdmin();
  const consumer = kafka.consumer({ groupId: `bench-count-${topic}-${Date.now()}`, readUncommitted: false });
  let count = 0;
  let last = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    consumer.run({ eachBatch: async ({ batch }) => ((count += batch.messages.length), (last = Date.now())) }).catch(() => {});
    while (Date.now() - last < 3000) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect();
  }
  return count;
}

/** Members of a consumer group that hold partitions, once the group is Stable (0 otherwise). */
export async function stableMembers(group) {
  const a = await kafkaAdmin();
  const { groups } = await a.describeGroups([group]);
  const g = groups[0];
  if (!g || g.state !== "Stable") return 0;
  return g.members.filter((m) => m.memberAssignment && m.memberAssignment.length > 0).length;
}

export async function kafkaCleanup() {
  if (!admin) return;
  try {
    // One at a time: a group whose consumer has not left cannot be deleted yet (the original's
    // KafkaSource never closes its consumer: the member stays until its session times out, 6 s as
    // bench/original_servers.py configures it), so those are tried again once after 7 s.
    const left = [];
    for (const group of kafkaGroups) await admin.deleteGroups([group]).catch(() => left.push(group));
    if (left.length) {
      await new Promise((r) => setTimeout(r, 7000));
      for (const group of left) await admin.deleteGroups([group]).catch(() => {});
    }
    if (kafkaTopics.length) await admin.deleteTopics({ topics: kafkaTopics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
    admin = null;
  }
}

// ------------------------------------------------------------------ OpenSearch / Elasticsearch
async function es(method, path, body) {
  const res = await fetch(`${OPENSEARCH_URL}/${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok && !(method === "DELETE" && res.status === 404)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}

const esIndices = [];

/** A fresh index: 1 shard, no replicas, refresh every 30 s (less server work during the run). */
export async function createIndex(name) {
  await es("PUT", name, { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: "30s" } });
  esIndices.push(name);
}

export async function indexCount(name) {
  await es("POST", `${name}/_refresh`);
  return (await es("GET", `${name}/_count`)).count;
}

export async function deleteIndex(name) {
  await es("DELETE", name);
  const i = esIndices.indexOf(name);
  if (i !== -1) esIndices.splice(i, 1);
}

export async function esCleanup() {
  for (const name of [...esIndices]) await deleteIndex(name).catch(() => {});
}

// ------------------------------------------------------------------ command line (to run one workload alone)
//   node bench/servers-admin.mjs fill <topic> <file>      a 3-partition topic with the file's lines
//   node bench/servers-admin.mjs create <topic>           an empty 3-partition topic
//   node bench/servers-admin.mjs count <topic>            messages in it
//   node bench/servers-admin.mjs delete <topic> [group]   the topic (and a consumer group)
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, topic, arg] = process.argv.slice(2);
  const a = await kafkaAdmin();
  try {
    if (command === "fill") console.log(`${topic}: ${await fillTopic(topic, arg)} messages`);
    else if (command === "create") await createTopic(topic);
    else if (command === "count") console.log(await topicCount(topic));
    else if (command === "delete") {
      if (arg) await a.deleteGroups([arg]);
      await a.deleteTopics({ topics: [topic] });
    } else {
      console.error("usage: node bench/servers-admin.mjs fill|create|count|delete <topic> [file|group]");
      process.exitCode = 2;
    }
  } finally {
    await a.disconnect();
  }
}
