export { XMLParserProcessor } from "./XMLParserProcessor.js";
