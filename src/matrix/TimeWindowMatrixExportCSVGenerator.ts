import { Generator, type EventContext } from "../core/index.js";
import { describe, openRows, physicalCell } from "./matrixRows.js";
import { TimeWindowMatrix } from "./TimeWindowMatrix.js";

/**
 * A TimeWindowMatrix in (the event MatrixSource emits), one record per open row and time column
 * out: `{id: row name, timestamp: start of the column (seconds), <field>: value, …}`, rows in index
 * order, columns oldest first — ready for FileCSVSink, which writes them with the codec's CSV
 * writer. BSPump's version [BUG] returned a Python generator instead of injecting the records,
 * read a `Dimensions` attribute that does not exist, and stamped column j with `Start + j ×
 * resolution`, a time after the window; here column j is stamped with its own start,
 * `End + j × resolution`.
 */
export class TimeWindowMatrixExportCSVGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    if (!(event instanceof TimeWindowMatrix)) throw new TypeError(`${this.id} expects a TimeWindowMatrix (the event of a MatrixSource), got ${describe(event)}`);
    const m = event;
    const fields = m.fields.map((f) => ({ name: f.name, cols: m.columnsOf(f.name) }));
    for (const row of openRows(m)) {
      const id = m.getRowName(row);
      for (let column = 0; column < m.columns; column++) {
        const record: Record<string, unknown> = { id, timestamp: m.columnStart(column) };
        const cell = physicalCell(m, column);
        for (const f of fields) record[f.name] = f.cols[cell]![row];
        this.pipeline.inject({ ...context, row, column }, record, depth);
      }
    }
  }
}
