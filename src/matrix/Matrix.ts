import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, ConfigObject, PubSub, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Gauge } from "../core/index.js";
import { parseDType, type Column, type DType, type FieldDef } from "./dtype.js";
import { FreeRows } from "./FreeRows.js";

export type MetaValue = number | string | boolean | null;

export interface MatrixOptions extends ComponentOptions {
  /** Defaults to "float_": one numeric field called "value". */
  dtype?: DType;
  /** Keep the state in files under `path` (config) so it survives a restart. */
  persistent?: boolean;
}

/** What `flush()` did: old index → new index for every surviving row, and the freed indexes. */
export interface FlushResult {
  closed: number[];
  saved: Map<number, number>;
}

interface PersistedMeta {
  version: 1;
  class: string;
  dtype: [string, string][];
  cells: number;
  capacity: number;
  open: number[];
  strings: Record<string, string[][]>;
  extra: Record<string, unknown>;
}

const CONFIG = {
  max_closed_rows_capacity: { type: "float", default: 0.2, doc: "Compact (flush) when closed rows reach this share of the rows" },
  path: { type: "string", default: "", doc: "Directory for the persistent state (with persistent=true)" },
  persist_period: { type: "float", default: 60, doc: "Seconds between saves of a persistent matrix (it is also saved when the application exits)" },
} satisfies ConfigSpec;

/**
 * BSPump's Matrix: rows of typed cells with free-row reuse, kept as struct-of-arrays
 * (one Float64Array per field and cell column, indexed by row) rather than objects per cell.
 * Rows are allocated with `addRow()` (the lowest free index first); the array grows zero-filled
 * by max(5, 100 %) rows (at most 65,536 at a time) when none is free (BSPump
 * grew by 10 %, which copies a 10,000-row matrix ~80 times while it fills) — at any dimensionality, which fixes BSPump's [BUG]
 * where a 1-D matrix could not grow. Section `[matrix:<id>]`.
 */
export class Matrix extends ConfigObject {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly fields: FieldDef[];
  readonly persistent: boolean;
  readonly pubsub: PubSub;
  /** Cells per row and field (1 here; the number of time columns in a TimeWindowMatrix). */
  readonly cells: number;
  /** Allocated rows (open + free). */
  capacity = 0;
  /** Per row: 1 open (used); 2 closed (freed by closeRow, not reused yet); 0 spare (free since growth or a flush). */
  protected openFlags = new Uint8Array(0);
  protected readonly free = new FreeRows();
  private readonly data = new Map<string, Column[]>();
  private readonly rowGauge: Gauge;
  /** Rows closed and not reused yet (BSPump's ClosedRows, without the spare rows from growth): what triggers compaction. */
  protected closedSinceFlush = 0;
  private sinceSave = 0;
  /** Small state of the matrix's owner (an analyzer's watermark) that is persisted with it. */
  readonly meta: Record<string, MetaValue> = {};
  /** Called by save() first, so an owner can put its state into `meta`. */
  beforeSave: (() => void) | null = null;

  constructor(app: Application, options: MatrixOptions = {}, cells = 1) {
    super(app, (id) => `matrix:${id}`, options);
    this.fields = parseDType(options.dtype ?? "float_");
    this.persistent = options.persistent ?? false;
    this.cells = cells;
    this.pubsub = new PubSub((message, error) => app.log.error(`Matrix '${this.id}': subscriber of '${message}' failed`, { error: toError(error) }));
    for (const f of this.fields) {
      const cols: Column[] = [];
      for (let c = 0; c < cells; c++) cols.push(f.kind === "number" ? new Float64Array(0) : []);
      this.data.set(f.name, cols);
    }
    this.rowGauge = app.metrics.createGauge("RowCounter", { matrix: this.id }, "Open and closed rows of a matrix");
    this.updateGauge();
    if (this.persistent) {
      if (this.config.getString("path") === "") throw new ConfigError(`[matrix:${this.id}] persistent matrix needs 'path'`);
      const period = this.config.getFloat("persist_period");
      app.pubsub.subscribe("Application.tick!", () => {
        if (++this.sinceSave >= period) this.save();
      });
      app.pubsub.subscribe("Application.exit!", () => this.save());
    }
    if (new.target === Matrix) this.restore();
  }

  /** Loads the persisted state, if any; call at the end of a subclass constructor. */
  protected restore(): boolean {
    if (!this.persistent) return false;
    const dir = this.config.getString("path");
    if (!existsSync(join(dir, "matrix.json"))) return false;
    this.load(dir);
    return true;
  }

  // ------------------------------------------------------------------ rows

  get rows(): number {
    return this.capacity;
  }

  get openRows(): number {
    return this.capacity - this.free.size;
  }

  get closedRows(): number {
    return this.free.size;
  }

  isOpen(row: number): boolean {
    return row >= 0 && row < this.capacity && this.openFlags[row] === 1;
  }

  /** Allocates a row: the lowest free index, growing the array when none is free. */
  addRow(): number {
    if (this.free.size === 0) this.grow(Math.max(5, Math.min(this.capacity, 65536)));
    const row = this.free.pop();
    if (this.openFlags[row] === 2) this.closedSinceFlush--;
    this.openFlags[row] = 1;
    this.updateGauge();
    return row;
  }

  /** Frees a row (zeroing it when `clear`); returns false when it was not open. */
  closeRowIndex(row: number, clear = true): boolean {
    if (!this.isOpen(row)) return false;
    if (clear) this.clearRow(row);
    this.openFlags[row] = 2;
    this.free.push(row);
    this.closedSinceFlush++;
    this.updateGauge();
    return true;
  }

  clearRow(row: number): void {
    for (const f of this.fields) {
      const cols = this.data.get(f.name)!;
      for (const col of cols) {
        if (col instanceof Float64Array) col[row] = 0;
        else col[row] = "";
      }
    }
  }

  /**
   * BSPump's zeros(): drops every row and value, leaving `rows` (1) zeroed free rows; the next
   * addRow() returns 0. Subclasses drop their per-row state (names, warm-up) through onFlush.
   */
  zeros(rows = 1): void {
    for (const cols of this.data.values()) for (let c = 0; c < cols.length; c++) cols[c] = cols[c] instanceof Float64Array ? new Float64Array(0) : [];
    this.openFlags = new Uint8Array(0);
    this.free.clear();
    this.capacity = 0;
    this.closedSinceFlush = 0;
    this.onFlush(new Map(), 0);
    this.grow(Math.max(1, rows));
    this.updateGauge();
  }

  /** Grows by `n` zero-filled rows, marked free. Column arrays are replaced in place in their lists. */
  protected grow(n: number): void {
    const next = this.capacity + n;
    for (const f of this.fields) {
      const cols = this.data.get(f.name)!;
      for (let c = 0; c < cols.length; c++) {
        const old = cols[c]!;
        if (old instanceof Float64Array) {
          const grown = new Float64Array(next);
          grown.set(old);
          cols[c] = grown;
        } else {
          for (let r = old.length; r < next; r++) old.push("");
        }
      }
    }
    const flags = new Uint8Array(next);
    flags.set(this.openFlags);
    this.openFlags = flags;
    for (let r = this.capacity; r < next; r++) this.free.push(r);
    this.capacity = next;
    this.onGrow(next);
  }

  /** Hook for subclasses keeping per-row arrays. */
  protected onGrow(_capacity: number): void {}

  /**
   * Compacts the matrix: keeps open rows in order, drops free ones. Returns the mapping so that
   * holders of row indexes can remap. Subclasses remap their own per-row state in `onFlush`.
   */
  flush(): FlushResult {
    const saved = new Map<number, number>();
    const closed: number[] = [];
    let k = 0;
    for (let r = 0; r < this.capacity; r++) {
      if (this.openFlags[r] === 1) saved.set(r, k++);
      else closed.push(r);
    }
    for (const f of this.fields) {
      const cols = this.data.get(f.name)!;
      for (let c = 0; c < cols.length; c++) {
        const old = cols[c]!;
        if (old instanceof Float64Array) {
          const next = new Float64Array(k);
          for (const [from, to] of saved) next[to] = old[from]!;
          cols[c] = next;
        } else {
          const next: string[] = new Array<string>(k).fill("");
          for (const [from, to] of saved) next[to] = old[from]!;
          cols[c] = next;
        }
      }
    }
    this.openFlags = new Uint8Array(k).fill(1);
    this.free.clear();
    this.capacity = k;
    this.closedSinceFlush = 0;
    this.onFlush(saved, k);
    // For holders of per-row state outside the matrix (CardinalityAnalyzer's sketches).
    if (this.pubsub.hasSubscribers("Matrix flushed!")) this.pubsub.publish("Matrix flushed!", saved, k);
    this.updateGauge();
    return { closed, saved };
  }

  protected onFlush(_saved: Map<number, number>, _capacity: number): void {}

  protected maybeFlush(): void {
    const limit = this.config.getFloat("max_closed_rows_capacity") * this.capacity;
    if (this.closedSinceFlush > 0 && this.closedSinceFlush >= limit) this.flush();
  }

  private updateGauge(): void {
    this.rowGauge.set("rows.active", this.openRows);
    this.rowGauge.set("rows.closed", this.closedRows);
  }

  // ------------------------------------------------------------------ cells

  field(name: string = this.fields[0]!.name): FieldDef {
    const f = this.fields.find((x) => x.name === name);
    if (!f) throw new Error(`Matrix '${this.id}' has no field '${name}' (fields: ${this.fields.map((x) => x.name).join(", ")})`);
    return f;
  }

  /**
   * The column arrays of a field, one per cell (physical order). The list object stays the same
   * across growth and compaction (its arrays are replaced in place), so hot paths may keep it.
   */
  columnsOf(name: string = this.fields[0]!.name): Column[] {
    const cols = this.data.get(name);
    if (!cols) throw new Error(`Matrix '${this.id}' has no field '${name}'`);
    return cols;
  }

  /** Numeric columns of a field (throws for a string field). */
  numeric(name: string = this.fields[0]!.name): Float64Array[] {
    if (this.field(name).kind !== "number") throw new Error(`Field '${name}' of matrix '${this.id}' is not numeric`);
    return this.data.get(name)! as Float64Array[];
  }

  /** Reads a cell by physical cell index. */
  get(row: number, cell = 0, name: string = this.fields[0]!.name): number | string {
    return this.columnsOf(name)[cell]![row]!;
  }

  set(row: number, cell: number, value: number | string, name: string = this.fields[0]!.name): void {
    const col = this.columnsOf(name)[cell]!;
    if (col instanceof Float64Array) col[row] = typeof value === "number" ? value : Number(value);
    else col[row] = String(value);
  }

  /** Zeroes one physical cell column of every field. */
  protected clearCell(cell: number): void {
    for (const cols of this.data.values()) {
      const col = cols[cell]!;
      if (col instanceof Float64Array) col.fill(0);
      else col.fill("");
    }
  }

  /** BSPump's hook used by AnalyzingSource: returns a "complex event", or null for nothing. */
  async analyze(): Promise<unknown> {
    return null;
  }

  // ------------------------------------------------------------------ persistence

  /** Extra state of subclasses, stored with the matrix. */
  protected persistExtra(): Record<string, unknown> {
    return { meta: this.meta };
  }

  protected restoreExtra(extra: Record<string, unknown>): void {
    const meta = (extra.meta ?? {}) as Record<string, MetaValue>;
    for (const key of Object.keys(this.meta)) delete this.meta[key];
    Object.assign(this.meta, meta);
  }

  serialize(): Record<string, unknown> {
    const arrays: Record<string, (number | string)[][]> = {};
    for (const f of this.fields) arrays[f.name] = this.columnsOf(f.name).map((c) => Array.from(c as ArrayLike<number | string>));
    return {
      DType: this.fields.map((f) => [f.name, f.format]),
      ClosedRows: this.free.values(),
      Rows: this.capacity,
      Array: arrays,
      ...this.persistExtra(),
    };
  }

  /** The state as layout, index and strings (`meta`) and the numbers (`bin`): what save() writes and snapshot() frames. */
  private persisted(): { meta: PersistedMeta; bin: Float64Array } {
    this.beforeSave?.();
    const numeric = this.fields.filter((f) => f.kind === "number");
    const bin = new Float64Array(numeric.length * this.cells * this.capacity);
    let at = 0;
    for (const f of numeric) {
      for (const col of this.numeric(f.name)) {
        bin.set(col.subarray(0, this.capacity), at);
        at += this.capacity;
      }
    }
    const strings: Record<string, string[][]> = {};
    for (const f of this.fields) if (f.kind === "string") strings[f.name] = (this.columnsOf(f.name) as string[][]).map((c) => c.slice(0, this.capacity));
    const open: number[] = [];
    for (let r = 0; r < this.capacity; r++) if (this.openFlags[r] === 1) open.push(r);
    const meta: PersistedMeta = {
      version: 1,
      class: this.constructor.name,
      dtype: this.fields.map((f) => [f.name, f.format]),
      cells: this.cells,
      capacity: this.capacity,
      open,
      strings,
      extra: this.persistExtra(),
    };
    return { meta, bin };
  }

  /** Writes the state to `path` (config): `matrix.json` (layout, index, strings) and `array.bin` (numbers). */
  save(dir = this.config.getString("path")): void {
    this.sinceSave = 0;
    if (dir === "") throw new ConfigError(`[matrix:${this.id}] no 'path' to save to`);
    const { meta, bin } = this.persisted();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "array.bin.tmp"), new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength));
    writeFileSync(join(dir, "matrix.json.tmp"), JSON.stringify(meta));
    // The binary first, then the metadata that describes it: a crash between leaves the old pair
    // unreadable only if the sizes differ, which load() checks.
    renameSync(join(dir, "array.bin.tmp"), join(dir, "array.bin"));
    renameSync(join(dir, "matrix.json.tmp"), join(dir, "matrix.json"));
  }

  /** Replaces the state with what `save()` wrote to `dir`. */
  load(dir = this.config.getString("path")): void {
    const meta = JSON.parse(readFileSync(join(dir, "matrix.json"), "utf8")) as PersistedMeta;
    this.apply(meta, readFileSync(join(dir, "array.bin")), `'${dir}/array.bin'`);
  }

  /**
   * The state in one buffer (the same content as save()'s two files: a 4-byte length, the
   * metadata as JSON, the numbers), for a checkpoint that is not a directory (a changelog record).
   */
  snapshot(): Buffer {
    const { meta, bin } = this.persisted();
    const json = Buffer.from(JSON.stringify(meta));
    const out = Buffer.allocUnsafe(4 + json.length + bin.byteLength);
    out.writeUInt32BE(json.length, 0);
    json.copy(out, 4);
    Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength).copy(out, 4 + json.length);
    return out;
  }

  /** Replaces the state with a snapshot(). */
  restoreSnapshot(data: Uint8Array): void {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const length = buf.readUInt32BE(0);
    const meta = JSON.parse(buf.toString("utf8", 4, 4 + length)) as PersistedMeta;
    this.apply(meta, buf.subarray(4 + length), "the snapshot");
  }

  private apply(meta: PersistedMeta, raw: Buffer, what: string): void {
    const same = meta.dtype.length === this.fields.length && meta.dtype.every(([n, f], i) => this.fields[i]!.name === n && this.fields[i]!.format === f);
    if (!same || meta.cells !== this.cells) {
      throw new ConfigError(`[matrix:${this.id}] persisted state in ${what} has another layout (dtype or columns changed); move it away to start afresh`);
    }
    const numeric = this.fields.filter((f) => f.kind === "number");
    const expected = numeric.length * this.cells * meta.capacity * 8;
    if (raw.byteLength !== expected) throw new ConfigError(`[matrix:${this.id}] ${what} has ${raw.byteLength} bytes, expected ${expected}`);
    const bin = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    this.capacity = meta.capacity;
    let at = 0;
    for (const f of numeric) {
      const cols = this.data.get(f.name)!;
      for (let c = 0; c < cols.length; c++) {
        cols[c] = bin.slice(at, at + meta.capacity);
        at += meta.capacity;
      }
    }
    for (const f of this.fields) {
      if (f.kind !== "string") continue;
      const cols = this.data.get(f.name)!;
      const stored = meta.strings[f.name] ?? [];
      for (let c = 0; c < cols.length; c++) cols[c] = stored[c] ?? new Array<string>(meta.capacity).fill("");
    }
    this.openFlags = new Uint8Array(meta.capacity);
    for (const r of meta.open) this.openFlags[r] = 1;
    this.free.clear();
    for (let r = 0; r < meta.capacity; r++) if (this.openFlags[r] === 0) this.free.push(r);
    this.closedSinceFlush = 0;
    this.onGrow(meta.capacity);
    this.restoreExtra(meta.extra);
    this.updateGauge();
  }
}
