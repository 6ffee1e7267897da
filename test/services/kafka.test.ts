// @services kafka
/**
 * Smoke test: the Kafka broker started by scripts/services/up talks to kafkajs 2.2.4.
 * Creates a 6-partition topic, produces 10,000 keyed messages, consumes them all in a
 * consumer group and checks every message, the per-partition order and the committed offsets.
 * A second test checks what the Kafka sink relies on: idempotent, transactional produce, and a
 * read_committed consumer that sees committed messages only.
 */
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { KAFKA_BROKERS, uniqueName } from '../helpers/services.js';

const COUNT = 10_000;
const PARTITIONS = 6;

/**
 * Create a topic and wait until every partition is served. kafkajs' own `waitForLeaders` only
 * retries LEADER_NOT_AVAILABLE, but a KRaft broker can briefly answer metadata for a just-created
 * topic with UNKNOWN_TOPIC_OR_PARTITION (code 3; kafkajs issue #1563), which made createTopics
 * throw now and then. And in KRaft the metadata cache shows a leader before the partition is ready
 * (KAFKA-15780): an immediate produce got NOT_LEADER_FOR_PARTITION, and kafkajs' retry of the whole
 * batch duplicated messages. So: create without waiting, poll metadata until every partition has a
 * leader, then list offsets (answered by the partition leader itself).
 */
async function createTopic(admin: Admin, topic: string, numPartitions: number): Promise<boolean> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: false });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = meta.topics[0]?.partitions ?? [];
      if (parts.length === numPartitions && parts.every((p) => p.leader >= 0)) {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length === numPartitions) return created;
      }
    } catch (e) {
      // kafkajs may wrap the protocol error after its own retries
      const err = e as { type?: string; originalError?: { type?: string }; cause?: { type?: string } };
      const code = err.type ?? err.originalError?.type ?? err.cause?.type;
      if (!['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION'].includes(code ?? '')) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic}: partitions without a leader after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('kafka: 6 partitions, 10,000 messages through a consumer group', { timeout: 180_000 }, async () => {
  const kafka = new Kafka({ clientId: 'bspump-smoke', brokers: KAFKA_BROKERS, logLevel: logLevel.WARN });
  const topic = uniqueName('smoke_topic');
  const groupId = uniqueName('smoke_group');
  const admin: Admin = kafka.admin();
  // idempotent: a retried batch cannot duplicate messages, so "every message exactly once" holds
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await admin.connect();
  try {
    const created = await createTopic(admin, topic, PARTITIONS);
    assert.equal(created, true, 'createTopics reports a new topic');
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0]?.partitions.length, PARTITIONS);

    // Produce: keys k0..k9999, value is a JSON document with the sequence number.
    await producer.connect();
    for (let start = 0; start < COUNT; start += 1000) {
      const messages = [];
      for (let i = start; i < start + 1000; i++) {
        messages.push({ key: `k${i}`, value: JSON.stringify({ i, text: `message ${i}` }), headers: { seq: String(i) } });
      }
      const res = await producer.send({ topic, acks: -1, messages });
      assert.ok(res.length > 0);
      for (const r of res) assert.equal(r.errorCode, 0);
    }
    await producer.disconnect();

    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.length, PARTITIONS);
    const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    assert.equal(total, COUNT, 'high watermarks add up to the number of produced messages');
    const nonEmpty = offsets.filter((o) => Number(o.high) > 0).length;
    assert.ok(nonEmpty >= 2, `keys spread over several partitions (got ${nonEmpty})`);

    // Consume everything in a group. Problems are collected, not thrown: a throw inside
    // eachMessage would make kafkajs retry the message instead of failing the test.
    const seen = new Map<number, { partition: number; offset: string }>();
    const lastPerPartition = new Map<number, number>();
    const problems: string[] = [];
    let done!: () => void;
    const allSeen = new Promise<void>((resolve) => { done = resolve; });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const body = JSON.parse(message.value?.toString('utf8') ?? 'null') as { i: number; text: string } | null;
        if (!body) { problems.push(`empty value at ${partition}/${message.offset}`); return; }
        if (message.key?.toString('utf8') !== `k${body.i}`) problems.push(`key of ${body.i}`);
        if (body.text !== `message ${body.i}`) problems.push(`text of ${body.i}`);
        if (message.headers?.seq?.toString() !== String(body.i)) problems.push(`header of ${body.i}`);
        if (seen.has(body.i)) problems.push(`duplicate ${body.i}`);
        seen.set(body.i, { partition, offset: message.offset });
        // Within one partition the sequence numbers must come in production order.
        const last = lastPerPartition.get(partition) ?? -1;
        if (body.i <= last) problems.push(`order: ${body.i} after ${last} in partition ${partition}`);
        lastPerPartition.set(partition, body.i);
        if (seen.size === COUNT) done();
      },
    });
    const timer = setTimeout(() => done(), 120_000);
    await allSeen;
    clearTimeout(timer);
    await consumer.stop();
    await consumer.disconnect();

    assert.deepEqual(problems.slice(0, 20), [], 'every message has the key, value and header it was sent with');
    assert.equal(seen.size, COUNT, 'every message consumed');
    for (let i = 0; i < COUNT; i++) assert.ok(seen.has(i), `message ${i} consumed`);
    assert.equal(lastPerPartition.size, nonEmpty, 'messages came from every non-empty partition');

    // The group committed its position: committed offsets add up to all messages.
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committedTotal = committed[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    assert.equal(committedTotal, COUNT, 'group committed every offset');
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

test('kafka: transactions with an idempotent producer, read_committed consumer', { timeout: 120_000 }, async () => {
  const kafka = new Kafka({ clientId: 'bspump-smoke-tx', brokers: KAFKA_BROKERS, logLevel: logLevel.WARN });
  const topic = uniqueName('smoke_tx');
  const groupId = uniqueName('smoke_tx_group');
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: uniqueName('smoke_txid') });
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  await admin.connect();
  try {
    assert.equal(await createTopic(admin, topic, 2), true);
    await producer.connect();
    for (let round = 0; round < 4; round++) {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: Array.from({ length: 50 }, (_, k) => ({ key: `r${round}`, value: `r${round}-${k}` })) });
      if (round % 2 === 0) await tx.commit(); // rounds 0 and 2 committed
      else await tx.abort(); // rounds 1 and 3 aborted
    }
    await producer.disconnect();

    const values: string[] = [];
    let done!: () => void;
    const enough = new Promise<void>((resolve) => { done = resolve; });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString('utf8') ?? '');
        if (values.length >= 100) done();
      },
    });
    const timer = setTimeout(() => done(), 60_000);
    await enough;
    clearTimeout(timer);
    // Give a wrongly delivered aborted message a moment to show up before checking.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await consumer.stop();
    await consumer.disconnect();

    const expected = [0, 2].flatMap((round) => Array.from({ length: 50 }, (_, k) => `r${round}-${k}`));
    assert.deepEqual([...values].sort(), [...expected].sort(), 'exactly the committed messages');
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});
