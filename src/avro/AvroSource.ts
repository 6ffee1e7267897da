import { Readable } from "node:stream";
import avro from "avsc";
import { toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Pipeline } from "../core/index.js";
import { FileABCSource, type FileEntry } from "../file/FileABCSource.js";
import { ContainerGuard } from "./ContainerGuard.js";
import { MAX_BLOCK_BYTES_KEY, avroError, decoderOptions, loadAvroSchema } from "./schema.js";

const CONFIG = {
  path: { type: "string", default: "./*.avro", doc: "Glob pattern(s) of the Avro files" },
  post: { type: "string", default: "noop", choices: ["move", "delete", "noop"], doc: "After a file is settled: move, delete or noop" },
  schema_file: { type: "string", default: "", doc: "Reader schema (.avsc); empty: each file's own schema" },
  max_block_bytes: MAX_BLOCK_BYTES_KEY,
} satisfies ConfigSpec;

/**
 * Reads Avro container files, one event per record, streaming (BSPump's AvroSource; its record loop
 * never finished a file [BUG]). Context: `{filename, record, receipt}`. With `schema_file`, records
 * are resolved to that reader schema. A corrupt file is reported (warning with file name and
 * record number) and left as `-failed`; the records before the corruption were handed over. A block
 * over `max_block_bytes` (compressed, or once inflated) is such a corruption.
 */
export class AvroSource extends FileABCSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileABCSource["config"];
  readonly readerType: avro.Type | null;
  readonly maxBlockBytes: number;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.readerType = loadAvroSchema(this.config.getString("schema_file"), `[${this.config.section}] schema_file`);
    this.maxBlockBytes = this.config.getInt("max_block_bytes");
  }

  protected override async read(file: FileEntry): Promise<void> {
    const decoder = new avro.streams.BlockDecoder(decoderOptions(this.readerType, this.maxBlockBytes));
    const input = Readable.from(this.chunks(file), { objectMode: false });
    const guard = new ContainerGuard(this.maxBlockBytes);
    input.on("error", (e) => decoder.destroy(e));
    guard.on("error", (e) => decoder.destroy(e));
    input.pipe(guard).pipe(decoder);
    let record = 0;
    try {
      for await (const value of decoder) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        this.pipeline.process(value, { filename: file.path, record: record++, receipt: file.receipt });
      }
    } catch (e) {
      const error = avroError(toError(e));
      this.pipeline.badInput({ filename: file.path, offset: record, receipt: file.receipt }, null, error, this);
      throw error;
    } finally {
      input.destroy();
    }
  }
}
