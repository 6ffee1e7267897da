/**
 * bspump: real-time stream processing for Node.js, a TypeScript port of BSPump.
 * Core classes are exported at the top level; each component family is a namespace.
 */
export * from "./core/index.js";
export * as common from "./common/index.js";
export * as unittest from "./unittest/index.js";
export * as kafka from "./kafka/index.js";
