import type { Application, LookupOptions, ConfigSpec, TypedConfig } from "../core/index.js";
import { MappingLookup } from "./MappingLookup.js";
import { CSV_DIALECT_CONFIG, csvDialect, readerOptions } from "../codec/csvdialect.js";
import { csvRecordBuilder, csvRows } from "../codec/csvrecord.js";

const CONFIG = {
  format: { type: "string", default: "", doc: "Format of a file source: json or csv (default: by the file extension, else json)", choices: ["", "json", "csv"] },
  key_column: { type: "string", default: "", doc: "CSV: the key column (default: the first)" },
  value_column: { type: "string", default: "", doc: "CSV: the value column (default: the row without the key, as an object)" },
  ...CSV_DIALECT_CONFIG,
} satisfies ConfigSpec;

/**
 * Key → value from a JSON object or a CSV file, a master pump, or set while the pump runs
 * (BSPump's DictionaryLookup). Serialised as a JSON object; `deserialize` replaces the content
 * (BSPump merged, which kept keys deleted on the master).
 */
export class DictionaryLookup extends MappingLookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & MappingLookup["config"];

  readonly dictionary = new Map<string, unknown>();

  constructor(app: Application, id?: string, options: LookupOptions = {}) {
    super(app, id, options);
  }

  get(key: unknown): unknown {
    return this.dictionary.get(typeof key === "string" ? key : String(key));
  }

  has(key: unknown): boolean {
    return this.dictionary.has(typeof key === "string" ? key : String(key));
  }

  get size(): number {
    return this.dictionary.size;
  }

  keys(): IterableIterator<string> {
    return this.dictionary.keys();
  }

  entries(): IterableIterator<[string, unknown]> {
    return this.dictionary.entries();
  }

  serialize(): Buffer {
    return Buffer.from(JSON.stringify(Object.fromEntries(this.dictionary)), "utf8");
  }

  deserialize(data: Buffer): void {
    const parsed: unknown = JSON.parse(data.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`Lookup '${this.id}': expected a JSON object`);
    this.dictionary.clear();
    for (const [k, v] of Object.entries(parsed)) this.dictionary.set(k, v);
  }

  protected override loadSourceData(data: Buffer): void {
    if (this.provider?.isSlave || this.sourceFormat() === "json") {
      this.deserialize(data);
      return;
    }
    const table = csvRows(data, readerOptions(csvDialect(this.config)));
    const build = csvRecordBuilder(table[0] ?? []);
    const rows = table.slice(1).map((fields) => build(fields, fields.length) as Record<string, string>);
    const keyColumn = this.config.getString("key_column");
    const valueColumn = this.config.getString("value_column");
    this.dictionary.clear();
    for (const row of rows) {
      const kc = keyColumn || Object.keys(row)[0];
      if (kc === undefined || !(kc in row)) throw new Error(`Lookup '${this.id}': CSV has no column '${kc}'`);
      const key = row[kc]!;
      if (valueColumn !== "") {
        this.dictionary.set(key, row[valueColumn]);
      } else {
        const rest: Record<string, string> = {};
        for (const [c, v] of Object.entries(row)) if (c !== kc) rest[c] = v;
        this.dictionary.set(key, rest);
      }
    }
  }

  private sourceFormat(): "json" | "csv" {
    const format = this.config.getString("format");
    if (format === "json" || format === "csv") return format;
    return /\.(csv|tsv)$/i.test(this.provider?.url ?? "") ? "csv" : "json";
  }

  /** Sets one key (dynamic lookups); subscribers are notified once per turn of the event loop. */
  set(key: string, value: unknown): void {
    this.warnIfSlave();
    this.dictionary.set(key, value);
    this.touch();
  }

  /** Deletes one key; true when it was there. */
  delete(key: string): boolean {
    this.warnIfSlave();
    const had = this.dictionary.delete(key);
    if (had) this.touch();
    return had;
  }

  /** Replaces the whole content (BSPump's `set(dict)`). */
  replace(content: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>): void {
    this.warnIfSlave();
    this.dictionary.clear();
    const entries = content instanceof Map ? content.entries() : Object.entries(content);
    for (const [k, v] of entries) this.dictionary.set(k, v);
    this.touch();
  }

  private warned = false;
  private warnIfSlave(): void {
    if (this.warned || this.isMaster()) return;
    this.warned = true;
    this.log.warn(`Lookup '${this.id}' is a slave: local changes are overwritten by the next change on the master`);
  }
}
