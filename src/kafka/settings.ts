import { ConfigError, type Logger, type ResolvedConfig } from "../core/index.js";
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
