export * from "./ContentFilter.js";
export * from "./AttributeFilter.js";
export * from "./TimeDriftFilter.js";
