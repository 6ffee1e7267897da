/**
 * Kafka's own Java tools (console producer and consumer, log dump) from the jars the services
 * scripts fetch: clients nobody here wrote, to prove the pump reads and writes what they do.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BROKER } from "./helpers.js";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SERVICES = process.env.BSPUMP_SERVICES_DIR ?? join(REPO, ".services");
const CLASSPATH = join(SERVICES, "kafka", "libs", "*");
const LOG_CONFIG = join(REPO, "scripts", "services", "kafka", "tools-log4j2.properties");

/** Runs one of Kafka's tool classes; resolves with its stdout (rejects on a non-zero exit). */
export function kafkaTool(mainClass: string, args: string[], stdin = ""): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("java", ["-Xmx256m", `-Dlog4j2.configurationFile=${LOG_CONFIG}`, "-cp", CLASSPATH, mainClass, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${mainClass} exited with ${code}: ${err.slice(-2000)}`))));
    child.stdin.end(stdin);
  });
}

/** kafka-console-producer: one record per line of `lines`, compressed with `codec`. */
export async function consoleProduce(topic: string, lines: string[], codec: string): Promise<void> {
  await kafkaTool("org.apache.kafka.tools.ConsoleProducer", ["--bootstrap-server", BROKER, "--topic", topic, "--compression-codec", codec], lines.join("\n") + "\n");
}

/** kafka-console-consumer: the values of the first `count` records of a topic. */
export function consoleConsume(topic: string, count: number): Promise<string[]> {
  return consoleValues(topic, ["--max-messages", String(count), "--timeout-ms", "60000"]);
}

/** kafka-console-consumer from the beginning of a topic, with `options`: the values it printed. */
async function consoleValues(topic: string, options: string[]): Promise<string[]> {
  const out = await kafkaTool("org.apache.kafka.tools.consumer.ConsoleConsumer", ["--bootstrap-server", BROKER, "--topic", topic, "--from-beginning", ...options]);
  return out.split("\n").filter((l) => l !== "");
}

/** The compression codecs of the record batches stored for partition 0 of a topic (kafka-dump-log). */
export async function storedCodecs(topic: string): Promise<Set<string>> {
  const dir = join(SERVICES, "kafka", "data", `${topic}-0`);
  const segments = readdirSync(dir).filter((f) => f.endsWith(".log")).map((f) => join(dir, f));
  const out = await kafkaTool("org.apache.kafka.tools.DumpLogSegments", ["--files", segments.join(",")]);
  return new Set([...out.matchAll(/compresscodec: (\w+)/g)].map((m) => m[1]!.toLowerCase()));
}

/**
 * kafka-console-consumer with isolation.level = read_committed: the values of every committed
 * record of a topic, read until none has come for `quietMs`. The reference for what a transactional
 * output holds: kafkajs' read_committed consumer counted records of transactions the broker aborted
 * (a timed-out transaction of a killed producer) as committed — 200,132 values where this reads 200,000.
 */
export function consoleConsumeCommitted(topic: string, quietMs = 10_000): Promise<string[]> {
  return consoleValues(topic, ["--isolation-level", "read_committed", "--timeout-ms", String(quietMs)]);
}
