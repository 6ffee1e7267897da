/** Shared helpers of the Kafka tests: an independent kafkajs client to prepare and check topics. */
import { Kafka, logLevel, Partitioners, type IHeaders } from "kafkajs";
import { BSPumpApplication, Config, Pipeline, type ProcessorBase, type Source } from "../../src/core/index.js";
import { KafkaConnection } from "../../src/kafka/index.js";
import { until as untilEvery } from "../helpers/components.js";

/** The shared until(), polling every 50 ms: the Kafka tests' conditions ask the broker or read files. */
export function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return untilEvery(check, timeoutMs, what, 50);
}

export const BROKER = process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9092";

let counter = 0;
/** A topic/group name unique to this test run. */
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/** A kafkajs client of another broker (the default: the shared test broker). */
export function kafkaAt(broker: string): Kafka {
  return new Kafka({ clientId: "bspump-test", brokers: [broker], logLevel: logLevel.NOTHING });
}

export const kafka = kafkaAt(BROKER);

export async function createTopic(topic: string, partitions: number, client = kafka): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export interface TestMessage {
  key?: string | Buffer | null;
  value: string | Buffer;
  headers?: IHeaders;
  partition?: number;
}

export async function produce(topic: string, messages: TestMessage[], chunk = 10000, client = kafka): Promise<void> {
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) await producer.send({ topic, messages: messages.slice(i, i + chunk) });
  } finally {
    await producer.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Reads `count` records of a topic from the beginning (fails after `timeoutMs`); with `quietMs`,
 * goes on reading until nothing more came for that long (so records beyond `count` — duplicates — are seen too).
 */
export async function readAll(topic: string, count: number, timeoutMs = 60000, client = kafka, quietMs = 0): Promise<ReadRecord[]> {
  const consumer = client.consumer({ groupId: unique("reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: ReadRecord[] = [];
  let quiet: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} records of ${topic} in ${timeoutMs} ms`)), timeoutMs);
      if (count === 0) {
        clearTimeout(timer);
        resolve();
      }
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) out.push({ partition: batch.partition, offset: Number(m.offset), key: m.key, value: m.value, headers: m.headers ?? {} });
          if (out.length >= count) {
            clearTimeout(timer);
            clearTimeout(quiet);
            if (quietMs === 0) resolve();
            else quiet = setTimeout(resolve, quietMs);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Committed offset per partition of a group (-1: none). */
export async function committed(groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(res[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** High watermark per partition. */
export async function latest(topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchTopicOffsets(topic);
    return new Map(res.map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** An application with the connection `Kafka` (to `broker`) and the config `ini`. */
export function makeApp(ini = "", broker = BROKER): BSPumpApplication {
  const config = Config.fromString(`[connection:Kafka]\nbootstrap_servers = ${broker}\n${ini}`, "<kafka test>");
  const app = new BSPumpApplication({ args: [], config, handleSignals: false });
  app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
  return app;
}

/** Builds `pipeline` from these stages and registers it with its application. */
export function register(pipeline: Pipeline, source: Source, ...processors: ProcessorBase[]): void {
  pipeline.build(source, ...processors);
  if (!(pipeline.app instanceof BSPumpApplication)) throw new Error("a pipeline of a BSPumpApplication expected");
  pipeline.app.pumpService.addPipeline(pipeline);
}

