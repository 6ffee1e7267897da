import { Processor, type Application, type ComponentOptions, type ConfigSpec, type Pipeline, type TypedConfig } from "../core/index.js";

const CONFIG = {
  encoding: { type: "string", default: "utf-8", doc: "Text encoding of the strings read or the bytes written", choices: ["utf-8", "utf8", "latin1", "ascii", "utf16le"] },
} satisfies ConfigSpec;

/** Base of the parsers between strings and bytes: BSPump's `encoding` key as a Node encoding. */
export abstract class BufferEncodingProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  protected readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.encoding = this.config.getString("encoding").replace("utf-8", "utf8") as BufferEncoding;
  }
}
