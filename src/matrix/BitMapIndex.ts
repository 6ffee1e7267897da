import type { Matrix } from "./Matrix.js";
import { MatrixIndex, type SerializedIndex } from "./MatrixIndex.js";

/**
 * For a field of discrete values: each value → the set of open rows holding it (BSPump's
 * BitMapIndex). `search(value)` converts the value to the field's kind first, so `"3"` finds the
 * rows of 3 in a numeric field: BSPump [BUG] keyed the map by int when building it but by string
 * when searching and updating, so searches after the first build found nothing. `update()`
 * rebuilds from the open rows (BSPump kept stale rows of values that stayed present).
 */
export class BitMapIndex extends MatrixIndex {
  private map = new Map<number | string, Set<number>>();
  private numeric = true;

  constructor(
    readonly column: string,
    matrix: Matrix,
    id?: string,
  ) {
    super(id);
    this.update(matrix);
  }

  update(matrix: Matrix): void {
    this.numeric = matrix.field(this.column).kind === "number";
    const col = matrix.columnsOf(this.column)[0]!;
    const map = new Map<number | string, Set<number>>();
    for (let r = 0; r < matrix.capacity; r++) {
      if (!matrix.isOpen(r)) continue;
      const v = col[r]!;
      let rows = map.get(v);
      if (rows === undefined) map.set(v, (rows = new Set()));
      rows.add(r);
    }
    this.map = map;
  }

  search(value: number | string): Set<number> {
    const key = this.numeric ? Number(value) : String(value);
    return new Set(this.map.get(key) ?? []);
  }

  /** The distinct values indexed. */
  get values(): (number | string)[] {
    return [...this.map.keys()];
  }

  override serialize(): SerializedIndex {
    const bitmap: Record<string, number[]> = {};
    for (const [v, rows] of this.map) bitmap[String(v)] = [...rows];
    return { ...super.serialize(), bitmap, column: this.column };
  }
}
