export * from "./Matrix.js";
export * from "./TimeWindowMatrix.js";
export * from "./SessionMatrix.js";
export * from "./GeoMatrix.js";
