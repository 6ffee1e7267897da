import type { TimeWindowMatrix } from "../matrix/TimeWindowMatrix.js";

/** A TimeWindowMatrix's time columns for its busiest dimensions: what the dashboard draws as a heatmap. */
export interface WindowHeatmap {
  /** Start of the oldest column (seconds since the epoch) and the width of a column. */
  Start: number;
  Resolution: number;
  Columns: number;
  /** Columns at or after this time belong to windows not closed yet (null: none closed). */
  ClosedUpTo: number | null;
  /** Open dimensions in all, and the `top` of them with the most events, busiest first. */
  Dimensions: number;
  Top: { Dimension: string; Counts: number[] }[];
}

/**
 * The `top` dimensions by events in the matrix's columns, each with its count per column (oldest
 * first). One pass over the count columns and a small sorted list: called once a second by the web
 * API's push, never on the event path.
 */
export function windowHeatmap(matrix: TimeWindowMatrix, closedUpTo: number, top = 10): WindowHeatmap {
  const counts = matrix.numeric("count");
  const best: { row: number; total: number }[] = [];
  let open = 0;
  for (let row = 0; row < matrix.capacity; row++) {
    if (!matrix.isOpen(row)) continue;
    open++;
    let total = 0;
    for (const col of counts) total += col[row]!;
    if (best.length === top && total <= best[top - 1]!.total) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.total < total) at--;
    best.splice(at, 0, { row, total });
    if (best.length > top) best.pop();
  }
  return {
    Start: matrix.end,
    Resolution: matrix.resolution,
    Columns: matrix.columns,
    ClosedUpTo: Number.isFinite(closedUpTo) ? closedUpTo : null,
    Dimensions: open,
    Top: best.map(({ row }) => ({
      Dimension: matrix.getRowName(row) ?? String(row),
      Counts: Array.from({ length: matrix.columns }, (_, c) => counts[matrix.physical(c)]![row]!),
    })),
  };
}
