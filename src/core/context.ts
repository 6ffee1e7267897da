import type { Receipt } from "./receipt.js";

/**
 * The context travels with an event: source metadata (file name, Kafka partition and offset, …),
 * routing hints for sinks (`es_index`, `kafka_topic`, …), the upstream context after routing
 * (`ancestor`), and the delivery receipt.
 */
export interface EventContext {
  receipt?: Receipt;
  ancestor?: EventContext;
  [key: string]: unknown;
}
