import { readFileSync } from "node:fs";
import type { Admin, CompressionTypes, Consumer, EachBatchPayload, Kafka, KafkaConfig, LogEntry, Producer, SASLOptions } from "kafkajs";
import { ConfigError, Connection, dependency, resolveConfig, type Application, type ComponentOptions, type ResolvedConfig, type ConfigSpec } from "../core/index.js";

const kafkajs = dependency<typeof import("kafkajs")>("kafkajs");

/*
 * Every use of the Kafka client library (kafkajs) is in this file. Sources, sinks and the topic
 * initializer talk to the small interfaces below, so the client can be swapped for another one
 * (librdkafka bindings, @platformatic/kafka) by changing this file only.
 */

/** Header values as they travel in the context (`kafka_headers`): BSPump's list of (name, value) pairs. */
export type KafkaHeaderList = [string, Buffer][];
/** Headers accepted by the sink: BSPump's list of pairs, or an object. */
export type KafkaHeadersInput = readonly (readonly [string, Buffer | string])[] | Readonly<Record<string, Buffer | string | undefined>>;

/** One consumed record. Offsets and timestamps are decimal strings (Kafka's int64). */
export interface KafkaRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaHeaderList | null;
  offset: string;
  timestamp: string;
}

/** What the consumer hands over per fetched batch of one partition. */
export interface KafkaBatch {
  topic: string;
  partition: number;
  records: KafkaRecord[];
  /** Mark `offset` consumed in this session: the next fetch starts after it (not a commit). */
  resolveOffset(offset: string): void;
  /** Keeps the group membership alive during long waits (rate-limited by the client). */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked or seeked: stop handing over. */
  isActive(): boolean;
}

export interface KafkaTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface KafkaConsumerOptions {
  groupId: string;
  /** Exact topic names or RegExps (pattern subscription). */
  topics: (string | RegExp)[];
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxBytesPerPartition: number;
  maxWaitTimeMs: number;
  /** Called once per fetched batch; the next batch of this partition comes after it returns. */
  onBatch: (batch: KafkaBatch) => Promise<void>;
  /** A rebalance started: partitions may be revoked. Commit what is settled. */
  onRebalancing: () => void;
  /** The group (re)joined with this assignment. */
  onAssigned: (assignment: KafkaTopicPartitions[]) => void;
  /** The consumer crashed (the client gave up); `restart` tells whether it restarts itself. */
  onCrash: (error: Error, restart: boolean) => void;
}

export interface KafkaCommit {
  topic: string;
  partition: number;
  /** The next offset to read (last settled + 1). */
  offset: string;
}

/** A group consumer with manual commits. */
export interface KafkaConsumerClient {
  start(): Promise<void>;
  commit(offsets: KafkaCommit[]): Promise<void>;
  /** Stops fetching from these partitions (all assigned ones when omitted). */
  pause(partitions?: KafkaTopicPartitions[]): void;
  resume(partitions?: KafkaTopicPartitions[]): void;
  /** Rewinds a partition: the next batch starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void;
  assignment(): KafkaTopicPartitions[];
  close(): Promise<void>;
}

/** Headers as the producer takes them: a repeated name has a list of values. */
export type KafkaHeaderObject = Record<string, Buffer | string | (Buffer | string)[]>;

export interface KafkaOutgoing {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: KafkaHeaderObject | undefined;
}

export interface KafkaProducerOptions {
  idempotent: boolean;
  /** -1 (all in-sync replicas), 0 or 1. */
  acks: number;
  /** Retries of a failed produce request by the client before the send fails. */
  retries: number;
  timeoutMs: number;
  /** `none` or `gzip` (what the client supports without extra codecs); empty: the connection's. */
  compression: string;
}

export interface KafkaProducerClient {
  connect(): Promise<void>;
  /** Sends messages grouped by topic; resolves when the broker acknowledged all of them. */
  send(byTopic: Map<string, KafkaOutgoing[]>): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaTopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface KafkaAdminClient {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(topics: KafkaTopicSpec[]): Promise<void>;
  /** Committed offsets of a group, per partition (`-1` when none). */
  fetchCommitted(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Latest offset (high watermark) per partition. */
  fetchLatest(topic: string): Promise<{ partition: number; offset: string }[]>;
  close(): Promise<void>;
}

export const KAFKA_COMPRESSIONS = ["none", "gzip"] as const;

/**
 * Configuration of a Kafka cluster, shared by sources, sinks and the topic initializer, each of
 * which builds its own client from it (as in BSPump). Section `[connection:<id>]`; when
 * `bootstrap_servers` is not set there, the whole `[kafka]` section is used instead.
 */
export class KafkaConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = {
    bootstrap_servers: { type: "string", default: "", doc: "Brokers, host:port, one per line or comma-separated (falls back to the [kafka] section)" },
    client_id: { type: "string", default: "bspump", doc: "Client id sent to the brokers" },
    security_protocol: { type: "string", default: "PLAINTEXT", doc: "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", choices: ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] },
    sasl_mechanisms: { type: "string", default: "PLAIN", doc: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", choices: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "plain", "scram-sha-256", "scram-sha-512"] },
    sasl_username: { type: "string", default: "", doc: "SASL user name" },
    sasl_password: { type: "string", default: "", doc: "SASL password", secret: true },
    ssl_ca_location: { type: "string", default: "", doc: "CA certificate file (PEM) to verify the brokers" },
    ssl_certificate_location: { type: "string", default: "", doc: "Client certificate file (PEM)" },
    ssl_key_location: { type: "string", default: "", doc: "Client private key file (PEM)" },
    ssl_key_password: { type: "string", default: "", doc: "Password of the client private key", secret: true },
    ssl_check_hostname: { type: "bool", default: true, doc: "Verify the brokers' certificates and host names" },
    compression_type: { type: "string", default: "none", doc: "Producer compression: none or gzip", choices: KAFKA_COMPRESSIONS },
    connection_timeout_ms: { type: "int", default: 3000, doc: "Connect timeout per broker" },
    request_timeout_ms: { type: "int", default: 30000, doc: "Request timeout" },
  };

  /** The effective settings: this section's, or `[kafka]`'s when it has no bootstrap servers. */
  readonly settings: ResolvedConfig;
  readonly bootstrapServers: string[];

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    let settings = this.config;
    if (settings.getString("bootstrap_servers").trim() === "" && app.config.hasSection("kafka")) {
      settings = resolveConfig(KafkaConnection, app.config, "kafka", undefined);
    }
    this.settings = settings;
    this.bootstrapServers = settings.getString("bootstrap_servers").split(/[\s,]+/).filter((s) => s !== "");
    if (this.bootstrapServers.length === 0) {
      throw new ConfigError(`[connection:${this.id}] Missing 'bootstrap_servers' (in the connection section or in [kafka])`);
    }
  }

  /** The kafkajs client options (exposed for tests and for code that needs the raw client). */
  clientConfig(clientId?: string): KafkaConfig {
    const s = this.settings;
    const protocol = s.getString("security_protocol").toUpperCase();
    const config: KafkaConfig = {
      clientId: clientId ?? s.getString("client_id"),
      brokers: this.bootstrapServers,
      connectionTimeout: s.getInt("connection_timeout_ms"),
      requestTimeout: s.getInt("request_timeout_ms"),
      logLevel: kafkajs().logLevel.WARN,
      logCreator: () => (entry: LogEntry) => this.clientLog(entry),
    };
    if (protocol === "SSL" || protocol === "SASL_SSL") {
      const read = (key: string) => (s.getString(key) === "" ? undefined : readFileSync(s.getString(key), "utf8"));
      const ca = read("ssl_ca_location");
      const cert = read("ssl_certificate_location");
      const key = read("ssl_key_location");
      const passphrase = s.getString("ssl_key_password") || undefined;
      const rejectUnauthorized = s.getBool("ssl_check_hostname");
      config.ssl = { rejectUnauthorized, ...(ca ? { ca: [ca] } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(passphrase ? { passphrase } : {}) };
    }
    if (protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL") {
      const mechanism = s.getString("sasl_mechanisms").toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512";
      config.sasl = { mechanism, username: s.getString("sasl_username"), password: s.getString("sasl_password") } as SASLOptions;
    }
    return config;
  }

  private clientLog(entry: LogEntry): void {
    const { message, ...extra } = entry.log;
    const text = `kafkajs ${entry.namespace}: ${message}`;
    const fields: Record<string, unknown> = {};
    for (const key of ["error", "groupId", "topic", "partition", "broker"]) if (key in extra) fields[key] = (extra as Record<string, unknown>)[key];
    if (message.startsWith("Limiting retries for the idempotent producer")) {
      // KafkaSink bounds retries on purpose: a send that keeps failing fails its receipts.
      this.log.debug(text, fields);
    } else if (entry.level === kafkajs().logLevel.ERROR) {
      // The client logs retried errors at ERROR level; they become warnings here, and the
      // components report what finally failed.
      this.log.warn(text, fields);
    } else if (entry.level === kafkajs().logLevel.WARN) this.log.warn(text, fields);
    else this.log.debug(text, fields);
  }

  private client(clientId?: string): Kafka {
    const { Kafka } = kafkajs();
    return new Kafka(this.clientConfig(clientId));
  }

  /** A compression setting checked against what the client supports. */
  compressionOf(name: string): string {
    const value = (name === "" ? this.settings.getString("compression_type") : name).toLowerCase();
    if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(value)) {
      throw new ConfigError(`[connection:${this.id}] compression '${value}' is not supported by the Kafka client; use one of ${KAFKA_COMPRESSIONS.join(", ")}`);
    }
    return value;
  }

  createConsumer(options: KafkaConsumerOptions): KafkaConsumerClient {
    return new KafkaJsConsumer(this.client(), options);
  }

  createProducer(options: KafkaProducerOptions): KafkaProducerClient {
    return new KafkaJsProducer(this.client(), options, this.compressionOf(options.compression));
  }

  createAdmin(clientId?: string): KafkaAdminClient {
    return new KafkaJsAdmin(this.client(clientId));
  }
}

class KafkaJsConsumer implements KafkaConsumerClient {
  private readonly consumer: Consumer;
  private assigned: KafkaTopicPartitions[] = [];

  constructor(kafka: Kafka, private readonly options: KafkaConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      retry: { retries: 10 },
    });
    const ev = this.consumer.events;
    this.consumer.on(ev.REBALANCING, () => options.onRebalancing());
    this.consumer.on(ev.GROUP_JOIN, (e) => {
      this.assigned = Object.entries(e.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
      options.onAssigned(this.assigned);
    });
    this.consumer.on(ev.CRASH, (e) => options.onCrash(e.payload.error, e.payload.restart));
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const messages = batch.messages;
    const records: KafkaRecord[] = new Array<KafkaRecord>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      let headers: KafkaHeaderList | null = null;
      if (m.headers !== undefined) {
        for (const name in m.headers) {
          const v = m.headers[name];
          if (v === undefined) continue;
          headers ??= [];
          if (Array.isArray(v)) for (const item of v) headers.push([name, Buffer.isBuffer(item) ? item : Buffer.from(item)]);
          else headers.push([name, Buffer.isBuffer(v) ? v : Buffer.from(v)]);
        }
      }
      records[i] = { key: m.key ?? null, value: m.value ?? null, headers, offset: m.offset, timestamp: m.timestamp };
    }
    // A failed heartbeat means the group is rebalancing: stop handing this batch over, so the
    // client can rejoin before the rebalance times out.
    let rebalancing = false;
    return this.options.onBatch({
      topic: batch.topic,
      partition: batch.partition,
      records,
      resolveOffset: payload.resolveOffset,
      heartbeat: async () => {
        try {
          await payload.heartbeat();
        } catch (e) {
          rebalancing = true;
          throw e;
        }
      },
      isActive: () => !rebalancing && payload.isRunning() && !payload.isStale(),
    });
  }

  commit(offsets: KafkaCommit[]): Promise<void> {
    return this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
  }

  pause(partitions?: KafkaTopicPartitions[]): void {
    const list = partitions ?? this.assigned;
    if (list.length) this.consumer.pause(list.map((p) => ({ topic: p.topic, partitions: p.partitions })));
  }

  resume(partitions?: KafkaTopicPartitions[]): void {
    const list = partitions ?? this.consumer.paused();
    if (list.length) this.consumer.resume(list.map((p) => ({ topic: p.topic, partitions: p.partitions })));
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  assignment(): KafkaTopicPartitions[] {
    return this.assigned;
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

class KafkaJsProducer implements KafkaProducerClient {
  private readonly producer: Producer;
  private readonly compression: CompressionTypes;

  constructor(kafka: Kafka, private readonly options: KafkaProducerOptions, compression: string) {
    this.producer = kafka.producer({
      idempotent: options.idempotent,
      // The idempotent producer keeps ordering only with one request in flight per broker.
      maxInFlightRequests: options.idempotent ? 1 : 5,
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
      retry: { retries: options.retries },
      allowAutoTopicCreation: true,
    });
    const { CompressionTypes: types } = kafkajs();
    this.compression = compression === "gzip" ? types.GZIP : types.None;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(byTopic: Map<string, KafkaOutgoing[]>): Promise<void> {
    const topicMessages = [];
    for (const [topic, messages] of byTopic) topicMessages.push({ topic, messages });
    await this.producer.sendBatch({
      topicMessages,
      acks: this.options.idempotent ? -1 : this.options.acks,
      timeout: this.options.timeoutMs,
      compression: this.compression,
    });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkaJsAdmin implements KafkaAdminClient {
  private readonly admin: Admin;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: KafkaTopicSpec[]): Promise<void> {
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async fetchCommitted(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    const result = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (result[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
  }

  async fetchLatest(topic: string): Promise<{ partition: number; offset: string }[]> {
    const result = await this.admin.fetchTopicOffsets(topic);
    return result.map((p) => ({ partition: p.partition, offset: p.high }));
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }
}
