import type { Matrix } from "./Matrix.js";
import { NamedMatrix } from "./NamedMatrix.js";
import { TimeWindowMatrix } from "./TimeWindowMatrix.js";

/** A row as an event: its name (or index, for an unnamed Matrix) under `idKey`, then each field. */
export type RowRecord = Record<string, number | string | (number | string)[] | undefined>;

/** The open rows of a matrix, lowest index first. */
export function openRows(matrix: Matrix): number[] {
  const out: number[] = [];
  for (let r = 0; r < matrix.capacity; r++) if (matrix.isOpen(r)) out.push(r);
  return out;
}

/** The physical cell of a logical cell: a TimeWindowMatrix keeps its time columns as a ring (oldest first when read here). */
export function physicalCell(matrix: Matrix, cell: number): number {
  return matrix instanceof TimeWindowMatrix ? matrix.physical(cell) : cell;
}

/**
 * One row as a record: `{[idKey]: name or row index, field: value}`; a field with several cells
 * (a TimeWindowMatrix's time columns) is an array, oldest column first.
 */
export function rowRecord(matrix: Matrix, row: number, idKey: string): RowRecord {
  const out: RowRecord = { [idKey]: matrix instanceof NamedMatrix ? matrix.getRowName(row) : row };
  for (const f of matrix.fields) {
    const cols = matrix.columnsOf(f.name);
    if (matrix.cells === 1) out[f.name] = cols[0]![row]!;
    else {
      const values: (number | string)[] = new Array<number | string>(matrix.cells);
      for (let c = 0; c < matrix.cells; c++) values[c] = cols[physicalCell(matrix, c)]![row]!;
      out[f.name] = values;
    }
  }
  return out;
}

/** What an event is, for the error of a component that wanted a matrix. */
export function describe(event: unknown): string {
  if (event === null) return "null";
  if (typeof event === "object") return event.constructor?.name ?? "an object";
  return typeof event;
}
