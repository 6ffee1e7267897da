export { PumpBuilder, isDefinitionFile } from "./PumpBuilder.js";
export { components, componentsMarkdown, configOf, findComponent, type ComponentKind, type RegisteredComponent } from "./registry.js";
export { DeclarativeProcessor } from "./DeclarativeProcessor.js";
export { DeclarativeGenerator } from "./DeclarativeGenerator.js";
export { declarationText, type DeclarativeOptions } from "./declarationSource.js";
export * from "./expression/index.js";
export { SegmentBuilder } from "./SegmentBuilder.js";
export { DeclarativeTimeWindowAnalyzer, type DeclarativeTimeWindowAnalyzerOptions } from "./DeclarativeTimeWindowAnalyzer.js";
