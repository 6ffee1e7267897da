export { AMQPConnection } from "./AMQPConnection.js";
export { AMQPSource, AMQPFullMessageSource } from "./AMQPSource.js";
export { AMQPSink } from "./AMQPSink.js";
