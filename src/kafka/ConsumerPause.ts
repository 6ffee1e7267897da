import type { KafkaConsumerClient, KafkaTopicPartition } from "./client.js";

/** How long the pipeline may be not ready before the consumer is paused. */
const PAUSE_AFTER_MS = 250;
/**
 * While paused, the consumer is still polled this often: librdkafka serves rebalances only in a
 * poll (a member that does not poll holds up the whole group's rebalance), and leaves the group
 * after max.poll.interval.ms without one.
 */
const POLL_WHILE_PAUSED_MS = 500;

/**
 * A KafkaSource's consumer while its pipeline is throttled: a short throttle (a sink waiting for
 * one acknowledgement) passes without pausing; a longer one pauses the assigned partitions (so the
 * client stops fetching ahead), polls now and then, and resumes those still assigned.
 */
export class ConsumerPause {
  /** The partitions paused now (null: not paused). */
  paused: KafkaTopicPartition[] | null = null;

  /** `poll`: one poll of the consumer, for its rebalances (records it returns are held, not handed over). */
  constructor(private readonly poll: () => void) {}

  /** Resolves as `go` does (the pipeline ready again, or false: stopped); `stopping`: whether to leave the partitions paused. */
  async wait(consumer: KafkaConsumerClient, go: Promise<boolean>, pipelineReady: boolean, stopping: () => boolean): Promise<boolean> {
    if (pipelineReady) return go; // a chillout yield, not a throttle
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([go, new Promise<null>((resolve) => (timer = setTimeout(resolve, PAUSE_AFTER_MS, null)))]);
    clearTimeout(timer);
    if (early !== null) return early;
    const paused = consumer.assignment();
    consumer.pause(paused);
    this.paused = paused;
    const poll = setInterval(this.poll, POLL_WHILE_PAUSED_MS);
    try {
      return await go;
    } finally {
      clearInterval(poll);
      this.paused = null;
      if (!stopping()) {
        const owned = new Set(consumer.assignment().map((p) => `${p.topic}\u0000${p.partition}`));
        consumer.resume(paused.filter((p) => owned.has(`${p.topic}\u0000${p.partition}`)));
      }
    }
  }
}
