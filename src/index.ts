/**
 * bspump: real-time stream processing for Node.js, a TypeScript port of BSPump.
 * Core classes are exported at the top level; each component family is a namespace.
 */
export * from "./core/index.js";
export * as common from "./common/index.js";
export * as unittest from "./unittest/index.js";
export * as codec from "./codec/index.js";
export * as file from "./file/index.js";
export * as avro from "./avro/index.js";
export * as xml from "./xml/index.js";
export * as lookup from "./lookup/index.js";
export * as web from "./web/index.js";
export * as random from "./random/index.js";
export * as declarative from "./declarative/index.js";
export * as elasticsearch from "./elasticsearch/index.js";
export * as analyzer from "./analyzer/index.js";
export * as matrix from "./matrix/index.js";
export * as kafka from "./kafka/index.js";
export * as socket from "./socket/index.js";
export * as http from "./http/index.js";
export * as parquet from "./parquet/index.js";
export * as slack from "./slack/index.js";
export * as kibana from "./kibana/index.js";
export * as amqp from "./amqp/index.js";
export * as mysql from "./mysql/index.js";
export * as postgresql from "./postgresql/index.js";
export * as influxdb from "./influxdb/index.js";
export * as subprocess from "./subprocess/index.js";
export * as mail from "./mail/index.js";
export * as ftp from "./ftp/index.js";
export * as ssh from "./ssh/index.js";
export * as ldap from "./ldap/index.js";
export * as anomaly from "./anomaly/index.js";
export * as filter from "./filter/index.js";
export * as crypto from "./crypto/index.js";
export * as integrity from "./integrity/index.js";
