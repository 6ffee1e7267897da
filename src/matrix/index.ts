export * from "./dtype.js";
export * from "./Matrix.js";
export * from "./NamedMatrix.js";
export * from "./TimeWindowMatrix.js";
export * from "./SessionMatrix.js";
export * from "./GeoMatrix.js";
export * from "./HyperLogLog.js";
