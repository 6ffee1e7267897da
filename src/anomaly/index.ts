export * from "./Anomaly.js";
export * from "./GeneralAnomaly.js";
export * from "./AnomalyAnalyzer.js";
export * from "./AnomalyManager.js";
export * from "./AnomalyStorage.js";
