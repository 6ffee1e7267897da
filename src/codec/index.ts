export { LineFramer, maxLineLengthKey, type LineTarget, type LineFramingOptions } from "./lines.js";
export { textCodec, isBytes, type TextCodec, type TextStream } from "./text.js";
export { badInput } from "./badInput.js";
