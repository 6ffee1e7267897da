// @services rabbitmq
/**
 * Smoke test: RabbitMQ started by scripts/services/up, through amqplib.
 * Publishes with publisher confirms, consumes with manual ack, checks every message and that an
 * unacknowledged message comes back (redelivered) when its channel closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { AMQP_URL, uniqueName } from '../helpers/services.js';

const COUNT = 2_000;

test('rabbitmq: confirmed publish, manual-ack consume, redelivery of an unacked message', { timeout: 60_000 }, async () => {
  const conn = await amqp.connect(AMQP_URL);
  const queue = uniqueName('smoke_queue');
  try {
    // --- publish with confirms
    const pub = await conn.createConfirmChannel();
    const q = await pub.assertQueue(queue, { durable: true, autoDelete: false });
    assert.equal(q.queue, queue);
    assert.equal(q.messageCount, 0);
    let confirmed = 0;
    let nacked = 0;
    for (let i = 0; i < COUNT; i++) {
      const body = Buffer.from(JSON.stringify({ i, text: `message ${i}` }));
      pub.sendToQueue(queue, body, { persistent: true, messageId: `m${i}`, contentType: 'application/json' }, (err) => {
        if (err) nacked++;
        else confirmed++;
      });
    }
    await pub.waitForConfirms();
    assert.equal(nacked, 0, 'no publish nacked');
    assert.equal(confirmed, COUNT, 'every publish confirmed by the broker');
    assert.equal((await pub.checkQueue(queue)).messageCount, COUNT, 'queue holds all messages');
    await pub.close();

    // --- a consumer that takes one message and never acks it: the broker must redeliver it
    const lazy = await conn.createChannel();
    await lazy.prefetch(1);
    const firstUnacked = await new Promise<ConsumeMessage>((resolve) => {
      void lazy.consume(queue, (msg) => { if (msg) resolve(msg); }, { noAck: false });
    });
    assert.equal(firstUnacked.fields.redelivered, false);
    await lazy.close(); // closes without ack -> message goes back to the queue

    // --- consume everything with manual ack
    const sub = await conn.createChannel();
    await sub.prefetch(100);
    const seen = new Map<number, ConsumeMessage>();
    const problems: string[] = [];
    let redelivered = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${seen.size}/${COUNT} messages`)), 45_000);
      void sub.consume(queue, (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString('utf8')) as { i: number; text: string };
        if (msg.properties.messageId !== `m${body.i}`) problems.push(`messageId ${msg.properties.messageId} for ${body.i}`);
        if (body.text !== `message ${body.i}`) problems.push(`text of ${body.i}`);
        if (msg.properties.contentType !== 'application/json') problems.push(`contentType of ${body.i}`);
        if (msg.fields.redelivered) redelivered++;
        if (seen.has(body.i)) problems.push(`duplicate ${body.i}`);
        seen.set(body.i, msg);
        sub.ack(msg);
        if (seen.size === COUNT) { clearTimeout(timer); resolve(); }
      }, { noAck: false });
    });
    assert.deepEqual(problems, []);
    assert.equal(seen.size, COUNT);
    for (let i = 0; i < COUNT; i++) assert.ok(seen.has(i), `message ${i} consumed`);
    const again = JSON.parse(firstUnacked.content.toString('utf8')) as { i: number };
    assert.equal(seen.get(again.i)?.fields.redelivered, true, 'the unacked message was redelivered');
    assert.equal(redelivered, 1, 'exactly one message redelivered');
    await sub.close();

    // every message acked: the queue is empty
    const check = await conn.createChannel();
    assert.equal((await check.checkQueue(queue)).messageCount, 0, 'queue empty after acks');
    await check.deleteQueue(queue);
    await check.close();
  } finally {
    // in case an assertion failed before the delete above
    try {
      const ch = await conn.createChannel();
      await ch.deleteQueue(queue);
      await ch.close();
    } catch { /* already gone */ }
    await conn.close();
  }
});
