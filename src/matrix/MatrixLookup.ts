import { Lookup, type Application, type ConfigSpec, type TypedConfig, type LookupOptions } from "../core/index.js";
import type { DType } from "./dtype.js";
import type { MatrixIndex, SerializedIndex } from "./MatrixIndex.js";
import { SessionMatrix } from "./SessionMatrix.js";

export interface MatrixLookupOptions extends LookupOptions {
  /** The id of a registered SessionMatrix to wrap (or the matrix); none: a new `<id>Matrix` is made. */
  matrixId?: string | SessionMatrix;
  /** The dtype of the matrix made when none is given. */
  dtype?: DType;
  /** Refresh the indexes every `update_period` seconds instead of on each change of the matrix. */
  onClockUpdate?: boolean;
}

const CONFIG = {
  update_period: { type: "float", default: 5, doc: "Seconds between index refreshes with onClockUpdate" },
} satisfies ConfigSpec;

/**
 * A lookup over a SessionMatrix (BSPump's MatrixLookup): `get(name)` is the named row as an object,
 * `search(condition, field)` the field of the first open row that matches, and indexes
 * (`createIndex(BitMapIndex, "field", lookup.matrix)`, TreeRangeIndex, SliceIndex) answer which
 * rows hold a value or cover it. The indexes are refreshed after the matrix changed ("Matrix
 * changed!", once per turn of the event loop however many rows changed, so that values stored right
 * after addRow are seen) or, with `onClockUpdate`, every `update_period` seconds.
 *
 * `serialize()` is BSPump's `{"Matrix": …, "Indexes": {id: …}}` as UTF-8 JSON (what the web API
 * serves at /bspump/v1/lookup/<id>); `deserialize()` rebuilds the rows from it and refreshes the
 * indexes locally (row numbers may differ from the sender's: its indexes are not reused). BSPump
 * [BUG] `search` used numpy's removed `asscalar`, and BitMapIndex mixed int and string keys.
 */
export class MatrixLookup extends Lookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly matrix: SessionMatrix;
  readonly indexes = new Map<string, MatrixIndex>();
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(app: Application, id?: string, options: MatrixLookupOptions = {}) {
    super(app, id, options);
    const service = app.pumpServiceOrNull();
    const ref = options.matrixId;
    if (ref instanceof SessionMatrix) this.matrix = ref;
    else if (typeof ref === "string" && ref !== "") {
      if (!service) throw new Error(`MatrixLookup '${this.id}': no PumpService to locate matrix '${ref}'`);
      const found = service.locateMatrix(ref);
      if (!(found instanceof SessionMatrix)) throw new TypeError(`MatrixLookup '${this.id}': matrix '${ref}' is a ${found.constructor.name}, not a SessionMatrix`);
      this.matrix = found;
    } else {
      this.matrix = new SessionMatrix(app, { id: `${this.id}Matrix`, ...(options.dtype !== undefined ? { dtype: options.dtype } : {}) });
      service?.addMatrix(this.matrix);
    }
    if (options.onClockUpdate) {
      const period = Math.max(0.01, this.config.getFloat("update_period"));
      const begin = (): void => {
        this.timer ??= setInterval(() => this.updateIndexes(), period * 1000);
        this.timer.unref();
      };
      if (app.isRunning) begin();
      else app.pubsub.subscribe("Application.run!", begin);
      app.pubsub.subscribe("Application.stop!", () => this.stopTimer());
    } else {
      this.matrix.pubsub.subscribe("Matrix changed!", () => {
        if (this.scheduled) return;
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.updateIndexes();
        });
      });
    }
  }

  /** Adds an index built by `new IndexClass(...args)` under its id (BSPump's create_index). */
  createIndex<A extends unknown[], I extends MatrixIndex>(IndexClass: new (...args: A) => I, ...args: A): I {
    const index = new IndexClass(...args);
    this.indexes.set(index.id, index);
    return index;
  }

  /** Rebuilds every index from the matrix and publishes `bspump.Lookup.changed!`. */
  updateIndexes(): void {
    for (const index of this.indexes.values()) index.update(this.matrix);
    this.changed();
  }

  /**
   * The value of `field` in the first (lowest) open row matching `condition`: a predicate over row
   * indexes, or a set of rows (an index's answer). null when none matches.
   */
  search(condition: ((row: number) => boolean) | Iterable<number>, field: string): number | string | null {
    const m = this.matrix;
    m.field(field);
    if (typeof condition === "function") {
      for (let r = 0; r < m.capacity; r++) if (m.isOpen(r) && condition(r)) return m.get(r, 0, field);
      return null;
    }
    let first = -1;
    for (const r of condition) if (m.isOpen(r) && (first < 0 || r < first)) first = r;
    return first < 0 ? null : m.get(first, 0, field);
  }

  get(key: unknown): Record<string, number | string | undefined> | undefined {
    const row = typeof key === "string" ? this.matrix.getRowIndex(key) : undefined;
    return row === undefined ? undefined : this.matrix.decodeRow(row);
  }

  has(key: unknown): boolean {
    return typeof key === "string" && this.matrix.getRowIndex(key) !== undefined;
  }

  get size(): number {
    return this.matrix.openRows;
  }

  serialize(): Buffer {
    const indexes: Record<string, SerializedIndex> = {};
    for (const [id, index] of this.indexes) indexes[id] = index.serialize();
    return Buffer.from(JSON.stringify({ Matrix: this.matrix.serialize(), Indexes: indexes }), "utf8");
  }

  /** Replaces the rows with those of `data` (what serialize() made) and refreshes the indexes. */
  deserialize(data: Buffer): void {
    const parsed = JSON.parse(data.toString("utf8")) as { Matrix?: { Index?: { N2IMap?: Record<string, number> }; Array?: Record<string, (number | string)[][]> } };
    const n2i = parsed.Matrix?.Index?.N2IMap;
    const arrays = parsed.Matrix?.Array;
    if (!n2i || !arrays) throw new TypeError(`MatrixLookup '${this.id}': not a serialized MatrixLookup (no Matrix.Index.N2IMap or Matrix.Array)`);
    const m = this.matrix;
    m.zeros();
    for (const [name, from] of Object.entries(n2i).sort((a, b) => a[1] - b[1])) {
      const row = m.addRow(name);
      for (const f of m.fields) {
        const value = arrays[f.name]?.[0]?.[from];
        if (value !== undefined) m.set(row, 0, value, f.name);
      }
    }
    this.updateIndexes();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  override async finalize(): Promise<void> {
    this.stopTimer();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Matrix: this.matrix.id, Indexes: [...this.indexes.keys()] };
  }
}
