import type { XMLParser } from "fast-xml-parser";
import { Processor, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, dependency } from "../core/index.js";

const fastXmlParser = dependency<typeof import("fast-xml-parser")>("fast-xml-parser");

const CONFIG = {
  attribute_prefix: { type: "string", default: "@", doc: "Prefix of attribute keys" },
  text_key: { type: "string", default: "#text", doc: "Key of an element's text when it also has attributes or children" },
  ignore_attributes: { type: "bool", default: false, doc: "Drop attributes" },
  remove_ns_prefix: { type: "bool", default: false, doc: "Strip namespace prefixes from element and attribute names" },
  parse_values: { type: "bool", default: false, doc: "Turn numeric and boolean text into numbers and booleans" },
  always_array: { type: "list", default: [] as string[], doc: "Element names always returned as arrays, even when they occur once" },
  validate: { type: "bool", default: true, doc: "Check well-formedness first (malformed XML is an error, not a partial object)" },
  encoding: { type: "string", default: "utf-8", doc: "Encoding of Buffer input" },
} satisfies ConfigSpec;

/**
 * An XML document (string or Buffer) in, an object out (fast-xml-parser): attributes as
 * `<attribute_prefix>name` keys, text of elements with attributes under `text_key`, repeated
 * elements as arrays (and, with `always_array`, the listed element names always as arrays),
 * namespace prefixes kept unless `remove_ns_prefix`. A document that is not well-formed throws an
 * error naming the line and column, so the pipeline's error rules decide (warning, dead letter or
 * error state).
 */
export class XMLParserProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly parser: XMLParser;
  private readonly validate: boolean;
  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const arrays = new Set(this.config.getList("always_array"));
    const parseValues = this.config.getBool("parse_values");
    this.parser = new (fastXmlParser().XMLParser)({
      ignoreAttributes: this.config.getBool("ignore_attributes"),
      attributeNamePrefix: this.config.getString("attribute_prefix"),
      textNodeName: this.config.getString("text_key"),
      removeNSPrefix: this.config.getBool("remove_ns_prefix"),
      parseTagValue: parseValues,
      parseAttributeValue: parseValues,
      processEntities: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      htmlEntities: false,
      isArray: (name: string) => arrays.has(name),
    });
    this.validate = this.config.getBool("validate");
    this.encoding = this.config.getString("encoding") as BufferEncoding;
  }

  process(_context: EventContext, event: unknown): unknown {
    const text = typeof event === "string" ? event : Buffer.isBuffer(event) ? event.toString(this.encoding) : null;
    if (text === null) throw new TypeError(`XMLParserProcessor expects a string or a Buffer, got ${event === null ? "null" : typeof event}`);
    if (this.validate) {
      const result = fastXmlParser().XMLValidator.validate(text);
      if (result !== true) throw new SyntaxError(`Malformed XML at line ${result.err.line}, column ${result.err.col}: ${result.err.msg}`);
    }
    return this.parser.parse(text) as unknown;
  }
}
