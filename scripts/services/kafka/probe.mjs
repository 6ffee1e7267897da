// Readiness probe used by scripts/services/up after the broker logs "Kafka Server started":
// the broker must answer metadata, and its group and transaction coordinators must be available
// (this creates __consumer_offsets and __transaction_state now, so the first test does not meet
// "coordinator not available").
import { Kafka, logLevel } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const kafka = new Kafka({
  clientId: 'bspump-services-probe',
  brokers: [process.env.BSPUMP_KAFKA_BROKERS ?? '127.0.0.1:9092'],
  logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 },
});
const admin = kafka.admin();
const deadline = setTimeout(() => {
  console.error('probe timed out after 90 s');
  process.exit(1);
}, 90_000);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  // describeGroups looks up the group coordinator first, which waits for __consumer_offsets.
  await admin.describeGroups(['bspump-services-probe']);
  // A transactional producer finds the transaction coordinator (InitProducerId); nothing is written.
  const producer = kafka.producer({ transactionalId: 'bspump-services-probe', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const tx = await producer.transaction();
  await tx.abort();
  await producer.disconnect();
  console.log(`kafkajs probe ok: ${cluster.brokers.length} broker(s), controller ${cluster.controller}, group and transaction coordinators available`);
} catch (e) {
  console.error(`kafkajs probe failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
  clearTimeout(deadline);
}
