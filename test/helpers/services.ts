/**
 * Connection facts for the real test servers started by `scripts/services/up`
 * (see docs/services.md), and unique names so tests can share one server each.
 *
 * Every value can be overridden through the environment, for example to point the
 * tests at servers started some other way.
 */
import { randomBytes } from 'node:crypto';

const env = process.env;

/** Kafka 4.x KRaft broker (PLAINTEXT). */
export const KAFKA_BROKERS: string[] = (env.BSPUMP_KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

/** OpenSearch 2.19 HTTP endpoint, security off. */
export const OPENSEARCH_URL: string = env.BSPUMP_OPENSEARCH_URL ?? 'http://127.0.0.1:9200';

/** RabbitMQ AMQP 0-9-1 (default guest/guest account, which RabbitMQ allows from loopback). */
export const AMQP_URL: string = env.BSPUMP_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

/** MariaDB over TCP. The `bspump` user owns `bspump.*` and may create databases named `bspump_%`. */
export const MYSQL = {
  host: env.BSPUMP_MYSQL_HOST ?? '127.0.0.1',
  port: Number(env.BSPUMP_MYSQL_PORT ?? 3306),
  user: env.BSPUMP_MYSQL_USER ?? 'bspump',
  password: env.BSPUMP_MYSQL_PASSWORD ?? 'bspump',
  database: env.BSPUMP_MYSQL_DATABASE ?? 'bspump',
} as const;

/** InfluxDB 1.x HTTP endpoint; database `bspump` exists. */
export const INFLUX_URL: string = env.BSPUMP_INFLUX_URL ?? 'http://127.0.0.1:8086';
export const INFLUX_DB: string = env.BSPUMP_INFLUX_DB ?? 'bspump';

/** memcached text protocol over TCP (`host:port`, as MemcachedLookup's `server`). */
export const MEMCACHED: string = env.BSPUMP_MEMCACHED ?? '127.0.0.1:11211';

let counter = 0;

/**
 * A name no other test (or earlier run) uses: `<prefix>_<pid>_<time>_<counter>_<random>`.
 * Only lower-case letters, digits and `_`, at most 60 characters, so it is valid as a Kafka
 * topic, OpenSearch index, AMQP queue, MariaDB database/table and Influx measurement name.
 * Start MariaDB database names with `bspump_` (the test user may only create those).
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 24) || 't';
  counter += 1;
  const suffix = `${process.pid.toString(36)}_${Date.now().toString(36)}_${counter.toString(36)}_${randomBytes(3).toString('hex')}`;
  return `${clean}_${suffix}`.slice(0, 60);
}

/**
 * `<prefix>_<pid>_<8 hex digits>`, with `prefix` kept exactly as given (case, spaces and all), for
 * tests that want such a name, e.g. to check how it is escaped.
 */
export function rawUniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
