import type { ConfigSpec } from "../core/index.js";

/** KafkaSource's keys: BSPump's names and defaults, and the keys this port adds (kept out of KafkaSource.ts for its size). */
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
  state_topic: {
    type: "string",
    default: "",
    doc: "Compacted topic where the state of the pipeline's partitioned processors (TimeWindowAnalyzer, SessionAnalyzer with `partitioned`) is checkpointed per input partition before its offsets are committed, and restored from by the member that gets the partition (one topic per application and group; created when missing)",
  },
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
