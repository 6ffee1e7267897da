import type { Application, ComponentOptions, Pipeline, ConfigSpec, TypedConfig } from "../core/index.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";
import { readWhole } from "./FileJSONSource.js";

const CONFIG = {
  mode: { type: "string", default: "rb", choices: ["r", "rb", "rt"], doc: "'rb': the event is a Buffer; 'r': a string decoded with `encoding`" },
  max_size: { type: "int", default: 268435456, doc: "Largest file read (bytes, after decompression)" },
} satisfies ConfigSpec;

/**
 * The whole file as one event (BSPump's FileBlockSource): a Buffer in mode 'rb' (the default, as in
 * BSPump), a string in mode 'r'. Files over `max_size` bytes are refused (left as `-failed`).
 */
export class FileBlockSource extends FileABCSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileABCSource["config"];

  readonly maxSize: number;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.maxSize = this.config.getInt("max_size");
  }

  protected override async read(file: FileEntry): Promise<void> {
    const data = await readWhole(this, file, this.maxSize);
    if (!(await this.waitReady())) return;
    this.pipeline.process(this.mode === "rb" ? data : data.toString(this.encoding), { filename: file.path, receipt: file.receipt });
  }
}
