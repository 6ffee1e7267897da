import type { Matrix } from "./Matrix.js";

/** What an index serializes to (BSPump: `{id, class, …}` plus the index's own keys). */
export type SerializedIndex = { id: string; class: string } & Record<string, unknown>;

/**
 * Base of MatrixLookup's indexes (BSPump's `bspump.lookup.index.Index`): built over a matrix's
 * open rows, rebuilt by `update(matrix)` when the matrix changed, searched for the set of row
 * indexes that match a value.
 */
export abstract class MatrixIndex {
  readonly id: string;

  constructor(id?: string) {
    this.id = id ?? new.target.name;
  }

  /** Rebuilds the index from the open rows of `matrix`. */
  abstract update(matrix: Matrix): void;

  /** The rows that match `value` (a new set, the caller's to keep). */
  abstract search(value: number | string): Set<number>;

  serialize(): SerializedIndex {
    return { id: this.id, class: this.constructor.name };
  }
}

/** A numeric field's value per open row, with the field checked: for the range indexes. */
export function numericColumn(matrix: Matrix, field: string, who: string): Float64Array {
  const f = matrix.field(field);
  if (f.kind !== "number") throw new TypeError(`${who}: field '${field}' of matrix '${matrix.id}' is not numeric`);
  return matrix.numeric(field)[0]!;
}
