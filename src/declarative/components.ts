/** The declarative components the YAML builder knows as `declarative.ClassName`. */
export { DeclarativeProcessor } from "./DeclarativeProcessor.js";
export { DeclarativeGenerator } from "./DeclarativeGenerator.js";
export { DeclarativeTimeWindowAnalyzer } from "./DeclarativeTimeWindowAnalyzer.js";
