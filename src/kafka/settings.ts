import { ConfigError, type ConfigSpec, type Logger, type ResolvedConfig } from "../core/index.js";
import type { KafkaProperties, KafkaTopicPartition } from "./client.js";
import { passThroughProperties } from "./KafkaConnection.js";

/*
 * BSPump reads `group_id` as `group.id` (every Kafka key has `_` turned into `.`), so a BSPump
 * user's config may spell a key either way. Both spellings are declared; the `_` one defaults to
 * "not given" ("" or -1).
 */

/** The value of a key that may be spelt `dotted` or `underscored`; both given and different is an error. */
export function resolveAlias<T extends string | number>(config: ResolvedConfig, dotted: string, underscored: string, section: string): T {
  const main = readValue(config, dotted) as T;
  const alias = readValue(config, underscored) as T;
  if (alias === "" || alias === -1) return main;
  // A dotted key still at its default counts as not given.
  if (main !== alias && !config.isDefault(dotted)) {
    throw new ConfigError(`${section} '${dotted}' = ${String(main)} and '${underscored}' = ${String(alias)} name the same setting; give one`);
  }
  return alias;
}

function readValue(config: ResolvedConfig, key: string): string | number {
  return typeof config.toJSON()[key] === "number" ? config.getInt(key) : config.getString(key);
}

/** Logs once, at start, the BSPump keys a config sets that have no effect here. */
export function noteIgnoredKeys(config: ResolvedConfig, log: Logger, keys: readonly string[]): void {
  const given = keys.filter((k) => !config.isDefault(k));
  if (given.length > 0) log.info(`[${config.section}] ${given.join(", ")}: BSPump settings with no effect here (librdkafka does that work itself; see docs/kafka.md)`);
}

/** BSPump's `topic`: names separated by spaces (or commas); `^…` is a pattern; `name:partition` pins a partition. */
export function parseTopics(value: string, where: string): { subscribe: (string | RegExp)[]; assign: KafkaTopicPartition[] | null } {
  const items = value.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new ConfigError(`${where}: no topic given`);
  const subscribe: (string | RegExp)[] = [];
  const assign: KafkaTopicPartition[] = [];
  for (const item of items) {
    const pinned = /^([^:^]+):(\d+)$/.exec(item);
    if (pinned) assign.push({ topic: pinned[1]!, partition: Number(pinned[2]) });
    else if (item.startsWith("^")) {
      try {
        subscribe.push(new RegExp(item));
      } catch (e) {
        throw new ConfigError(`${where}: '${item}' is not a valid regular expression: ${(e as Error).message}`);
      }
    } else subscribe.push(item);
  }
  if (assign.length > 0 && subscribe.length > 0) {
    throw new ConfigError(`${where}: pinned partitions (name:partition) and whole topics cannot be mixed in one source; use two sources`);
  }
  return { subscribe, assign: assign.length > 0 ? assign : null };
}

/** A KafkaSource's librdkafka consumer properties: its declared keys mapped, the rest passed through. */
export function consumerProperties(c: ResolvedConfig, groupId: string): KafkaProperties {
  const section = `[${c.section}]`;
  const refresh = c.getFloat("refresh_topics");
  return {
    "group.id": groupId,
    "auto.offset.reset": resolveAlias(c, "auto.offset.reset", "auto_offset_reset", section),
    "enable.auto.commit": false,
    "enable.auto.offset.store": false,
    "auto.commit.interval.ms": resolveAlias(c, "auto.commit.interval.ms", "auto_commit_interval_ms", section),
    "session.timeout.ms": c.getInt("session_timeout_ms"),
    "heartbeat.interval.ms": c.getInt("heartbeat_interval_ms"),
    "max.partition.fetch.bytes": c.getInt("max_partition_fetch_bytes"),
    "fetch.wait.max.ms": c.getInt("fetch_wait_max_ms"),
    "queued.max.messages.kbytes": c.getInt("queued.max.messages.kbytes"),
    "fetch.queue.backoff.ms": c.getInt("fetch.queue.backoff.ms"),
    ...(refresh > 0 ? { "topic.metadata.refresh.interval.ms": Math.max(100, Math.round(refresh * 1000)) } : {}),
    ...passThroughProperties(c),
  };
}

/** KafkaSource's config (declared here to keep KafkaSource.ts near its hot path). */
export const KAFKA_SOURCE_CONFIG = {
  topic: { type: "string", default: "unconfigured", doc: "Topics, space- or comma-separated; `^…` is a regular expression, `name:partition` reads exactly that partition" },
  "group.id": { type: "string", default: "bspump", doc: "Consumer group: pumps with the same group share the partitions" },
  group_id: { type: "string", default: "", doc: "The same as group.id (BSPump reads `_` as `.`)" },
  "auto.offset.reset": { type: "string", default: "earliest", doc: "Where a group without a committed offset starts", choices: ["earliest", "latest", "smallest", "largest", "beginning", "end", "error"] },
  auto_offset_reset: { type: "string", default: "", doc: "The same as auto.offset.reset", choices: ["", "earliest", "latest", "smallest", "largest", "beginning", "end", "error"] },
  "auto.commit.interval.ms": { type: "int", default: 1000, doc: "How often settled offsets are committed" },
  auto_commit_interval_ms: { type: "int", default: -1, doc: "The same as auto.commit.interval.ms" },
  "enable.auto.commit": { type: "bool", default: false, doc: "Must stay false: offsets are committed when their records are settled" },
  "enable.auto.offset.store": { type: "bool", default: false, doc: "Must stay false: offsets are stored when their records are settled" },
  refresh_topics: { type: "float", default: 0, doc: "Seconds between looks for new topics matching a ^pattern (0: librdkafka's default, 5 minutes)" },
  buffer_size: { type: "int", default: 100, doc: "Most records taken from the client at a time (BSPump: 1000; 100 here halves the heap at the same speed, docs/kafka.md)" },
  poll_interval: { type: "float", default: 0.3, doc: "Seconds a poll waits for the first record" },
  sleep_on_error: { type: "float", default: 3.0, doc: "Seconds to wait after a failed poll or connect before the next (doubling up to 30)" },
  receipt_records: { type: "int", default: 1000, doc: "Most records per delivery receipt" },
  exactly_once: { type: "bool", default: false, doc: "Commit offsets in the transactions of the exactly_once KafkaSinks on the same connection (docs/kafka.md, delivery guarantees)" },
  transaction_records: { type: "int", default: 20000, doc: "exactly_once: most records per transaction", min: 1 },
  transaction_interval_ms: { type: "int", default: 200, doc: "exactly_once: longest a transaction takes records before it is committed", min: 1 },
  session_timeout_ms: { type: "int", default: 30000, doc: "Group session timeout (session.timeout.ms): a pump silent this long loses its partitions" },
  heartbeat_interval_ms: { type: "int", default: 3000, doc: "Heartbeat interval (heartbeat.interval.ms)" },
  max_partition_fetch_bytes: { type: "int", default: 1048576, doc: "Most bytes fetched per partition and request (max.partition.fetch.bytes)" },
  fetch_wait_max_ms: { type: "int", default: 500, doc: "How long the broker may wait to fill a fetch (fetch.wait.max.ms)" },
  "queued.max.messages.kbytes": { type: "int", default: 4096, doc: "Most kilobytes of records fetched ahead (librdkafka: 65536; 4096 here bounds memory, with fetch.queue.backoff.ms at the same speed)" },
  "fetch.queue.backoff.ms": { type: "int", default: 5, doc: "Wait before fetching again when the fetched-ahead queue is full (librdkafka: 1000, which stalls a small queue)" },
  // BSPump's keys for its own polling threads: accepted, with a note at start (see docs/kafka.md).
  consumer_threads: { type: "int", default: 1, doc: "BSPump: consumer threads. One consumer per source here (librdkafka fetches in its own threads)" },
  buffer_timeout: { type: "float", default: 1.0, doc: "BSPump: flush a partly filled buffer after this. Here records are handed over as they arrive" },
  sleep_on_retryable_error: { type: "float", default: 60.0, doc: "BSPump: wait after a retryable error. librdkafka retries by itself here" },
  check_assignment_errors: { type: "float", default: 5.0, doc: "BSPump: look for partition errors this often. librdkafka recovers partitions by itself here" },
  errors_max_retry_attempts: { type: "int", default: 100, doc: "BSPump: retries of a retryable poll error. librdkafka retries by itself here" },
} satisfies ConfigSpec;
