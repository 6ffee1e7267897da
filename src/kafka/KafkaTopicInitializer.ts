import { readFileSync } from "node:fs";
import { ConfigError, ConfigObject, locateConnection, toError, type Application, type ComponentOptions, type Logger, type Pipeline, type ConfigSpec, type TypedConfig, dependency } from "../core/index.js";
import { KafkaConnection, type KafkaTopicSpec } from "./KafkaConnection.js";
import { KafkaSink } from "./KafkaSink.js";
import { KafkaSource } from "./KafkaSource.js";

const yaml = dependency<typeof import("yaml")>("yaml");

/** A topic as written in a topics file or passed to `includeTopics` (BSPump's names; `name`/`topic_configs` are deprecated aliases). */
export interface KafkaTopicDefinition {
  topic?: string;
  name?: string;
  num_partitions?: number;
  replication_factor?: number;
  config?: Record<string, string | number | boolean>;
  topic_configs?: Record<string, string | number | boolean>;
}

const CONFIG = {
  client_id: { type: "string", default: "bspump-topic-initializer", doc: "Client id of the admin client" },
  topics_file: { type: "string", default: "", doc: "JSON or YAML file with a list of topics (topic, num_partitions, replication_factor, config)" },
  num_partitions_default: { type: "int", default: 1, doc: "Partitions of a topic that does not say" },
  replication_factor_default: { type: "int", default: 1, doc: "Replication factor of a topic that does not say" },
} satisfies ConfigSpec;

/**
 * Creates the Kafka topics a pump needs when they are missing, with partitions, replication and
 * topic configs from a topics file (`.json`, `.yml`, `.yaml`), from explicit definitions, or from
 * the Kafka sources and sinks of a pipeline. Existing topics are left as they are. Section `[<id>]`,
 * by default `[KafkaTopicInitializer]`, as in BSPump.
 */
export class KafkaTopicInitializer extends ConfigObject {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: KafkaConnection;
  readonly log: Logger;
  /** Topics to ensure, by name. */
  readonly required = new Map<string, KafkaTopicSpec>();
  private existing: Set<string> | null = null;

  constructor(app: Application, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, (id) => id, { ...options, id: options.id ?? "KafkaTopicInitializer" });
    this.connection = locateConnection(app, connection, KafkaConnection);
    this.log = app.logs.logger(`bspump.kafka.${this.id}`);
    const file = this.config.getString("topics_file");
    if (file !== "") this.includeTopics({ configFile: file });
  }

  /** Adds topics from a definition, a file, a Kafka component, or every Kafka component of a pipeline. */
  includeTopics(from: { topicConfig?: KafkaTopicDefinition; kafkaComponent?: KafkaSource | KafkaSink; pipeline?: Pipeline; configFile?: string }): void {
    if (from.topicConfig) this.add(from.topicConfig, "topic definition");
    if (from.configFile) for (const def of loadTopicsFile(from.configFile)) this.add(def, from.configFile);
    if (from.kafkaComponent) this.includeComponent(from.kafkaComponent);
    if (from.pipeline) {
      for (const source of from.pipeline.sources) if (source instanceof KafkaSource) this.includeComponent(source);
      for (const processor of from.pipeline.iterProcessors()) if (processor instanceof KafkaSink) this.includeComponent(processor);
    }
  }

  private includeComponent(component: KafkaSource | KafkaSink): void {
    const names = component instanceof KafkaSource ? component.topics : [component.topic];
    for (const name of names) {
      if (typeof name !== "string" || name === "unconfigured") continue; // patterns and placeholders are not created
      if (!this.required.has(name)) this.add({ topic: name }, component.config.section);
    }
  }

  private add(def: KafkaTopicDefinition, where: string): void {
    const topic = def.topic ?? def.name;
    if (typeof topic !== "string" || topic === "") throw new ConfigError(`${where}: a topic definition needs 'topic'`);
    if (def.name !== undefined && def.topic === undefined) this.log.warn(`${where}: 'name' is deprecated, use 'topic'`);
    if (def.topic_configs !== undefined && def.config === undefined) this.log.warn(`${where}: 'topic_configs' is deprecated, use 'config'`);
    const numPartitions = def.num_partitions ?? this.config.getInt("num_partitions_default");
    const replicationFactor = def.replication_factor ?? this.config.getInt("replication_factor_default");
    if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new ConfigError(`${where}: topic '${topic}': num_partitions must be a positive integer`);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new ConfigError(`${where}: topic '${topic}': replication_factor must be a positive integer`);
    const configs: Record<string, string> = {};
    for (const [k, v] of Object.entries(def.config ?? def.topic_configs ?? {})) configs[k] = String(v);
    this.required.set(topic, { topic, numPartitions, replicationFactor, configs });
  }

  /** Creates the missing topics; returns their names. Errors are logged, not thrown (as in BSPump). */
  async initializeTopics(): Promise<string[]> {
    if (this.required.size === 0) return [];
    const admin = this.connection.createAdmin(this.config.getString("client_id"));
    try {
      await admin.connect();
      this.existing ??= new Set(await admin.listTopics());
      const missing = [...this.required.values()].filter((t) => !this.existing!.has(t.topic));
      if (missing.length === 0) return [];
      await admin.createTopics(missing);
      for (const t of missing) this.existing.add(t.topic);
      const names = missing.map((t) => t.topic);
      this.log.info(`Created Kafka topics: ${names.join(", ")}`);
      return names;
    } catch (e) {
      this.log.error("Kafka topic initialization failed", { error: toError(e) });
      return [];
    } finally {
      await admin.close().catch(() => {});
    }
  }

  /** BSPump's obsolete name. */
  checkAndInitialize(): Promise<string[]> {
    return this.initializeTopics();
  }
}

function loadTopicsFile(path: string): KafkaTopicDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`Cannot read Kafka topics file '${path}': ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    if (/\.json$/i.test(path)) data = JSON.parse(text);
    else if (/\.ya?ml$/i.test(path)) data = yaml().parse(text);
    else throw new Error("the name must end in .json, .yml or .yaml");
  } catch (e) {
    throw new ConfigError(`Kafka topics file '${path}': ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ConfigError(`Kafka topics file '${path}': expected a list of topics`);
  return data.map((item, i) => {
    if (typeof item !== "object" || item === null) throw new ConfigError(`Kafka topics file '${path}': item ${i + 1} is not a mapping`);
    return item as KafkaTopicDefinition;
  });
}
