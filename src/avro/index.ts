export { AvroDeserializer } from "./AvroDeserializer.js";
export { AvroSerializer } from "./AvroSerializer.js";
export { AvroSource } from "./AvroSource.js";
export { AvroSink } from "./AvroSink.js";
export { avroType, loadAvroSchema, decodeContainer, encodeContainer, LOGICAL_TYPES } from "./schema.js";
