import type { Application, ConfigSpec, TypedConfig } from "../core/index.js";
import type { MatrixOptions } from "./Matrix.js";
import { NamedMatrix } from "./NamedMatrix.js";

const CONFIG = {
  primary_name: { type: "string", default: "id", doc: "Key of the row name in decoded rows" },
} satisfies ConfigSpec;

/**
 * One row per session (BSPump's SessionMatrix): a NamedMatrix, usually with a list dtype such as
 * `[["start", "f8"], ["count", "i8"], ["user", "U30"]]`, whose row name is the session id.
 */
export class SessionMatrix extends NamedMatrix {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & NamedMatrix["config"];

  readonly primaryName: string;

  constructor(app: Application, options: MatrixOptions = {}) {
    super(app, options);
    this.primaryName = this.config.getString("primary_name");
    if (new.target === SessionMatrix) this.restore();
  }

  /** Assigns the fields of `row` to the named row; false when the name is unknown. */
  store(name: string, row: Readonly<Record<string, unknown>>): boolean {
    const index = this.getRowIndex(name);
    if (index === undefined) return false;
    this.storeEvent(index, row);
    return true;
  }

  /**
   * Copies `event[k]` into the row for every key (all fields by default) that is a field of the
   * matrix. Keys that are not fields are ignored; a missing key throws.
   */
  storeEvent(row: number, event: Readonly<Record<string, unknown>>, keys?: readonly string[]): void {
    for (const f of this.fields) {
      if (keys && !keys.includes(f.name)) continue;
      if (!keys && !(f.name in event)) continue;
      if (!(f.name in event)) throw new Error(`SessionMatrix '${this.id}': event has no '${f.name}'`);
      const v = event[f.name];
      this.set(row, 0, f.kind === "number" ? Number(v) : String(v), f.name);
    }
  }

  /** The row as an object (the requested fields, all by default) plus `{[primary_name]: name}`. */
  decodeRow(row: number, keys?: readonly string[]): Record<string, number | string | undefined> {
    const out: Record<string, number | string | undefined> = {};
    for (const f of this.fields) if (!keys || keys.includes(f.name)) out[f.name] = this.get(row, 0, f.name);
    out[this.primaryName] = this.getRowName(row);
    return out;
  }
}
