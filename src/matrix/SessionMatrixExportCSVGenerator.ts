import { Generator, type EventContext } from "../core/index.js";
import { describe, openRows } from "./matrixRows.js";
import { SessionMatrix } from "./SessionMatrix.js";

/**
 * A SessionMatrix in (the event MatrixSource emits), one record per open row out: `{<primary_name>:
 * row name, <field>: value, …}` in the dtype's order, rows in index order — ready for FileCSVSink
 * (the codec's CSV writer). BSPump's version [BUG] returned a Python generator instead of injecting
 * the records (nothing reached the sink); the key of the name is the matrix's `primary_name`
 * ("id" by default, BSPump's fixed key).
 */
export class SessionMatrixExportCSVGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    if (!(event instanceof SessionMatrix)) throw new TypeError(`${this.id} expects a SessionMatrix (the event of a MatrixSource), got ${describe(event)}`);
    const m = event;
    for (const row of openRows(m)) {
      const record: Record<string, unknown> = { [m.primaryName]: m.getRowName(row) };
      for (const f of m.fields) record[f.name] = m.get(row, 0, f.name);
      this.pipeline.inject({ ...context, row }, record, depth);
    }
  }
}
