export { InfluxDBConnection, type WriteResult } from "./InfluxDBConnection.js";
export { InfluxDBSink } from "./InfluxDBSink.js";
export { escapeKey, escapeMeasurement, fieldValue, pointLine, quoteString, timestamp, PRECISIONS, type InfluxPoint, type IntegerMode, type Precision } from "./lineprotocol.js";
