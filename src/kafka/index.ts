export * from "./KafkaConnection.js";
export * from "./KafkaKeyFilter.js";
export * from "./KafkaSink.js";
export * from "./KafkaSource.js";
export * from "./KafkaTopicInitializer.js";
export * from "./KafkaTransaction.js";
