import { ConfigError, Connection, resolveConfig, type Application, type ComponentOptions, type ConfigSpec, type ResolvedConfig, type TypedConfig } from "../core/index.js";
import { KAFKA_COMPRESSIONS, type KafkaAdminClient, type KafkaConsumerClient, type KafkaConsumerOptions, type KafkaProducerClient, type KafkaProducerOptions, type KafkaProperties, type KafkaTransactionalProducer } from "./client.js";
import { KafkaTransaction } from "./KafkaTransaction.js";
import { RdKafkaAdmin, RdKafkaConsumer, RdKafkaProducer } from "./rdkafka.js";

export * from "./client.js";

/** How long a repeated client error stays out of the log after it was logged once. */
const REPEAT_QUIET_MS = 60_000;

/**
 * BSPump's key translation: a key given as `group_id` means librdkafka's `group.id`. `oauth_cb` is
 * BSPump's one exception (it is not a property here at all).
 */
export function librdkafkaName(key: string): string {
  return key.replace(/_/g, ".");
}

/** Undeclared keys of a component, translated for librdkafka (later keys win, as in BSPump). */
export function passThroughProperties(config: ResolvedConfig): KafkaProperties {
  const out: KafkaProperties = {};
  for (const [key, value] of Object.entries(config.passThrough)) out[librdkafkaName(key)] = value;
  return out;
}

const CONFIG = {
  bootstrap_servers: { type: "string", default: "", doc: "Brokers, host:port, one per line or comma-separated (falls back to the [kafka] section)" },
  client_id: { type: "string", default: "bspump", doc: "Client id sent to the brokers" },
  security_protocol: { type: "string", default: "PLAINTEXT", doc: "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", choices: ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] },
  sasl_mechanisms: { type: "string", default: "PLAIN", doc: "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (or another mechanism librdkafka knows)" },
  sasl_username: { type: "string", default: "", doc: "SASL user name" },
  sasl_password: { type: "string", default: "", doc: "SASL password", secret: true },
  ssl_ca_location: { type: "string", default: "", doc: "CA certificate file (PEM) to verify the brokers" },
  ssl_certificate_location: { type: "string", default: "", doc: "Client certificate file (PEM)" },
  ssl_key_location: { type: "string", default: "", doc: "Client private key file (PEM)" },
  ssl_key_password: { type: "string", default: "", doc: "Password of the client private key", secret: true },
  ssl_check_hostname: { type: "bool", default: true, doc: "Verify the brokers' certificates and host names" },
  compression_type: { type: "string", default: "none", doc: "Producer compression: none, gzip, snappy, lz4 or zstd", choices: KAFKA_COMPRESSIONS },
  connection_timeout_ms: { type: "int", default: 30000, doc: "How long a connect may take (socket.connection.setup.timeout.ms)" },
  request_timeout_ms: { type: "int", default: 60000, doc: "Network request timeout (socket.timeout.ms)" },
  transactional_id: { type: "string", default: "", doc: "exactly_once: the transactional.id of this connection's producer (empty: bspump-<host>-<pid>-<connection id>; fencing is by the consumer group, KIP-447)" },
} satisfies ConfigSpec;

/**
 * Configuration of a Kafka cluster, shared by sources, sinks and the topic initializer, each of
 * which builds its own client from it (as in BSPump). Section `[connection:<id>]`; when
 * `bootstrap_servers` is not set there, the whole `[kafka]` section is used instead. Every key not
 * declared here goes to librdkafka with `_` read as `.` (BSPump's rule), so any librdkafka
 * property can be set on the connection, a source or a sink.
 */
export class KafkaConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static ConfigPassThrough = "librdkafka, with `_` read as `.` (e.g. `socket_keepalive_enable`, `statistics.interval.ms`)";

  /** The effective settings: this section's, or `[kafka]`'s when it has no bootstrap servers. */
  readonly settings: TypedConfig<typeof CONFIG>;
  readonly bootstrapServers: string[];
  private readonly quiet = new Map<string, { until: number; suppressed: number }>();
  private txn: KafkaTransaction | null = null;

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
    if ("oauth.cb" in passThroughProperties(settings)) {
      throw new ConfigError(`[connection:${this.id}] 'oauth_cb' (a Python callable in BSPump) cannot be given in a config file here; use sasl.oauthbearer.* properties`);
    }
  }

  /** The librdkafka properties every client of this connection starts from. */
  properties(): KafkaProperties {
    const s = this.settings;
    const out: KafkaProperties = {
      "bootstrap.servers": this.bootstrapServers.join(","),
      "client.id": s.getString("client_id"),
      "security.protocol": s.getString("security_protocol").toLowerCase(),
      "socket.connection.setup.timeout.ms": s.getInt("connection_timeout_ms"),
      "socket.timeout.ms": s.getInt("request_timeout_ms"),
    };
    const protocol = s.getString("security_protocol").toUpperCase();
    if (protocol.startsWith("SASL")) {
      out["sasl.mechanisms"] = s.getString("sasl_mechanisms").toUpperCase();
      out["sasl.username"] = s.getString("sasl_username");
      out["sasl.password"] = s.getString("sasl_password");
    }
    if (protocol === "SSL" || protocol === "SASL_SSL") {
      for (const key of ["ssl_ca_location", "ssl_certificate_location", "ssl_key_location", "ssl_key_password"] as const) {
        if (s.getString(key) !== "") out[librdkafkaName(key)] = s.getString(key);
      }
      if (!s.getBool("ssl_check_hostname")) {
        out["enable.ssl.certificate.verification"] = false;
        out["ssl.endpoint.identification.algorithm"] = "none";
      }
    }
    return { ...out, ...passThroughProperties(s) };
  }

  /** A compression setting checked against the codecs the client has (empty: the connection's). */
  compressionOf(name: string): string {
    const value = (name === "" ? this.settings.getString("compression_type") : name).toLowerCase();
    if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(value)) {
      throw new ConfigError(`[connection:${this.id}] unknown compression '${value}'; use one of ${KAFKA_COMPRESSIONS.join(", ")}`);
    }
    return value;
  }

  /**
   * Logs a client error once, then keeps the same message out of the log for a minute (a broker
   * that is down is reported by librdkafka every few seconds), counting what it kept out.
   */
  clientError(component: string, error: Error): void {
    const now = Date.now();
    const key = `${component}\u0000${error.message}`;
    const seen = this.quiet.get(key);
    if (seen !== undefined && now < seen.until) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.quiet.set(key, { until: now + REPEAT_QUIET_MS, suppressed: 0 });
    this.log.warn(`${component}: ${error.message}`, suppressed > 0 ? { repeated: suppressed } : {});
  }

  createConsumer(options: KafkaConsumerOptions, component: string): KafkaConsumerClient {
    const { "auto.offset.reset": reset, ...properties } = { ...this.properties(), ...options.properties };
    const topicProperties: KafkaProperties = reset === undefined ? {} : { "auto.offset.reset": reset };
    return new RdKafkaConsumer(properties, topicProperties, options, (e) => this.clientError(component, e));
  }

  createProducer(options: KafkaProducerOptions, component: string): KafkaProducerClient {
    return new RdKafkaProducer({ ...this.properties(), ...options.properties }, options, (e) => this.clientError(component, e));
  }

  createTransactionalProducer(options: KafkaProducerOptions, component: string): KafkaTransactionalProducer {
    return new RdKafkaProducer({ ...this.properties(), ...options.properties }, options, (e) => this.clientError(component, e));
  }

  /** The transaction of this connection's `exactly_once` sinks and source (one per connection, made on first use). */
  transaction(): KafkaTransaction {
    this.txn ??= new KafkaTransaction(this, this.settings.getString("transactional_id"));
    return this.txn;
  }

  createAdmin(clientId?: string): KafkaAdminClient {
    return new RdKafkaAdmin({ ...this.properties(), ...(clientId === undefined ? {} : { "client.id": clientId }) });
  }
}
