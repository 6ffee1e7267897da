import { dependency } from "../core/index.js";
import { KafkaClientError } from "./client.js";
import type { KafkaHeaderList, KafkaProperties } from "./client.js";
import type { PackedMessages, RdReport } from "./rdkafkaPacked.js";

/*
 * What rdkafka.ts uses of @confluentinc/kafka-javascript: the few members declared here (so the
 * package's own typings are not needed to build), loading it with a message that says how to get
 * it, and turning its errors and callbacks into this project's.
 */

export interface RdError extends Error {
  code: number;
  isFatal?: boolean;
  isRetriable?: boolean;
  isTxnRequiresAbort?: boolean;
}
export interface RdMessage {
  value: Buffer | null;
  key?: Buffer | string | null;
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number;
  headers?: Record<string, Buffer | string>[] | KafkaHeaderList;
}
export interface RdTopicPartition {
  topic: string;
  partition: number;
  offset?: number;
}
export type Callback = (error: RdError | null | undefined) => void;
export interface RdClient {
  connect(options: { timeout?: number }, cb: Callback): void;
  disconnect(cb: Callback): void;
  on(event: "event.error", listener: (error: RdError) => void): void;
}
export interface RdConsumer extends RdClient {
  subscribe(topics: (string | RegExp)[]): void;
  assign(partitions: RdTopicPartition[]): void;
  unassign(): void;
  assignments(): RdTopicPartition[];
  consume(max: number, cb: (error: RdError | null, messages: RdMessage[]) => void): void;
  /** The project's patch (rdkafkaPacked.ts): the batch in one buffer; an unpatched binding under a patched library answers as consume(). */
  consumePacked?(max: number, cb: (error: RdError | null, batch: PackedMessages | RdMessage[]) => void): void;
  setDefaultConsumeTimeout(ms: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  commitCb(offsets: RdTopicPartition[], cb: Callback): void;
  commitSync(offsets: RdTopicPartition[]): void;
  pause(partitions: RdTopicPartition[]): void;
  resume(partitions: RdTopicPartition[]): void;
  seek(partition: RdTopicPartition, timeoutMs: number, cb: Callback): void;
  position(partitions?: RdTopicPartition[]): RdTopicPartition[];
  getWatermarkOffsets(topic: string, partition: number): { highOffset: number; lowOffset: number };
  queryWatermarkOffsets(topic: string, partition: number, timeoutMs: number, cb: (error: RdError | null, offsets: { highOffset: number; lowOffset: number }) => void): void;
}
export interface RdProducer extends RdClient {
  produce(topic: string, partition: number | null, value: Buffer, key: Buffer | string | null, timestamp: number | null, opaque: unknown, headers?: Record<string, Buffer | string>[]): boolean;
  on(event: "delivery-report" | "event.error", listener: (error: RdError, report: RdReport) => void): void;
  /** The project's patch (rdkafkaPacked.ts), with `dr_compact: true`: reports in runs. */
  on(event: "delivery-reports", listener: (runs: unknown[] | RdReport, error: RdError | null) => void): void;
  setPollInBackground(value: boolean): void;
  getMetadata(options: { topic: string; timeout: number }, cb: (error: RdError | null, metadata: { topics: { name: string; partitions: unknown[] }[] }) => void): void;
  flush(timeoutMs: number, cb: Callback): void;
  initTransactions(timeoutMs: number, cb: Callback): void;
  beginTransaction(cb: Callback): void;
  sendOffsetsToTransaction(offsets: RdTopicPartition[], consumer: RdConsumer, timeoutMs: number, cb: Callback): void;
  commitTransaction(timeoutMs: number, cb: Callback): void;
  abortTransaction(timeoutMs: number, cb: Callback): void;
}
export interface RdAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(options: { topics: { topic: string; numPartitions: number; replicationFactor: number; configEntries: { name: string; value: string }[] }[] }): Promise<boolean>;
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string }[]>;
}
export interface RdModule {
  KafkaConsumer: { new (global: KafkaProperties | Record<string, unknown>, topic: KafkaProperties): RdConsumer; prototype: RdConsumer };
  Producer: new (global: KafkaProperties | Record<string, unknown>) => RdProducer;
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => { admin(): RdAdmin } };
  CODES: { ERRORS: Record<string, number> };
}

const loadModule = dependency<RdModule>("@confluentinc/kafka-javascript");

/**
 * Whether to use the batch forms of the project's patch (src/kafka/kafka-javascript.patch, built by
 * scripts/build-native): when the library carries it, unless BSPUMP_KAFKA_PATCH=off asks for the
 * stock forms (a switch for tests and for ruling the patch out).
 */
export function patched(module: RdModule): boolean {
  return process.env.BSPUMP_KAFKA_PATCH !== "off" && typeof module.KafkaConsumer.prototype.consumePacked === "function";
}

/** The client library, or an error that says how to get it (it is a native module built at install). */
export function rdkafka(): RdModule {
  try {
    return loadModule();
  } catch (e) {
    throw new Error(
      "The Kafka client (@confluentinc/kafka-javascript, librdkafka) is not installed or was not built. " +
        "Run `bash scripts/setup`, which installs the Debian packages it needs (g++, make, zlib1g-dev, libssl-dev, libzstd-dev, liblz4-dev, libsasl2-dev, libcurl4-openssl-dev) " +
        `and builds it with CKJS_LINKING=dynamic. (${(e as Error).message.split("\n")[0]})`,
    );
  }
}

/** librdkafka's error codes used here. */
export const ERR_QUEUE_FULL = -184;
export const ERR_ASSIGN = -175;
export const ERR_REVOKE = -174;

export function asError(e: RdError | Error, what: string): KafkaClientError {
  const rd = e as Partial<RdError>;
  const message = `${what}: ${e.message}${rd.code !== undefined ? ` (code ${rd.code})` : ""}`;
  return new KafkaClientError(message, rd.code ?? 0, rd.isFatal === true, rd.isTxnRequiresAbort === true, rd.isRetriable === true);
}

/** A client call with a node-style callback, as a promise that rejects with a KafkaClientError. */
export function call(what: string, run: (cb: Callback) => void): Promise<void> {
  return new Promise((resolve, reject) => run((e) => (e ? reject(asError(e, what)) : resolve())));
}

export function connect(client: RdClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => client.connect({ timeout: timeoutMs }, (e) => (e ? reject(asError(e, "Kafka connect failed")) : resolve())));
}

export function disconnect(client: RdClient): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()));
}
