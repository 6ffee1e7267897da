export * from "./Analyzer.js";
export * from "./TimeWindowAnalyzer.js";
