export { PumpBuilder, isDefinitionFile } from "./PumpBuilder.js";
export { components, componentsMarkdown, configOf, findComponent, type ComponentKind, type RegisteredComponent } from "./registry.js";
