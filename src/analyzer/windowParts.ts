/**
 * Parts of TimeWindowAnalyzer kept out of its file: choosing its matrix, shaping closed windows
 * into events (`emit = columns | dimension | window`), and making the per-partition parts of a
 * partitioned one.
 */
import { ConfigError, type Application, type Pipeline, type ResolvedConfig } from "../core/index.js";
import { TimeWindowMatrix } from "../matrix/TimeWindowMatrix.js";
import type { ClosedWindow } from "./ClosedWindow.js";
import type { TimeWindowAnalyzer, TimeWindowAnalyzerOptions } from "./TimeWindowAnalyzer.js";

const AGGREGATIONS = ["count", "sum", "min", "max"] as const;

/**
 * The aggregations kept (`aggregations`, always with count; sum, min and max only with a
 * `value_attr`) and the matrix: the one given, the one registered as `matrix_id`, or a new
 * `<id>Matrix` with a field per aggregation, registered with the PumpService.
 */
export function windowMatrix(app: Application, id: string, config: ResolvedConfig, given: TimeWindowMatrix | undefined, valueAttr: string, where: string): { matrix: TimeWindowMatrix; aggs: Set<string> } {
  const aggs = new Set(config.getList("aggregations"));
  for (const a of aggs) if (!(AGGREGATIONS as readonly string[]).includes(a)) throw new ConfigError(`${where} aggregations: unknown '${a}' (allowed: ${AGGREGATIONS.join(", ")})`);
  aggs.add("count");
  if (valueAttr === "") {
    aggs.delete("sum");
    aggs.delete("min");
    aggs.delete("max");
  }
  const matrixId = config.getString("matrix_id");
  if (given) return { matrix: given, aggs };
  if (matrixId !== "") {
    const found = app.pumpServiceOrNull()?.locateMatrix(matrixId);
    if (!(found instanceof TimeWindowMatrix)) throw new ConfigError(`${where} matrix_id '${matrixId}' is not a TimeWindowMatrix`);
    return { matrix: found, aggs };
  }
  const persistent = config.getBool("persistent");
  const matrix = new TimeWindowMatrix(app, {
    id: `${id}Matrix`,
    dtype: AGGREGATIONS.filter((a) => aggs.has(a)).map((a) => [a, "f8"] as const),
    persistent,
    config: { resolution: config.getFloat("resolution"), columns: config.getInt("columns"), path: persistent ? config.getString("path") : undefined },
  });
  app.pumpServiceOrNull()?.addMatrix(matrix);
  return { matrix, aggs };
}

/** The values of one dimension in a closed window (TimeWindowAnalyzer.dimensionValues, which a subclass may override). */
export type DimensionValues = (view: ClosedWindow, row: number) => Record<string, number>;

/** emit = columns: the window as one event of arrays, one value per dimension (no object per dimension); null when empty and `emitEmpty` is off. */
export function columnsEvent(view: ClosedWindow, m: TimeWindowMatrix, base: Record<string, unknown>, emitEmpty: boolean): Record<string, unknown> | null {
  const names: string[] = [];
  const count: number[] = [];
  const sumOut: number[] | null = view.sum ? [] : null;
  const avgOut: number[] | null = view.sum ? [] : null;
  const minOut: number[] | null = view.min ? [] : null;
  const maxOut: number[] | null = view.max ? [] : null;
  const c = view.count;
  for (let r = 0; r < view.rows; r++) {
    const n = c[r]!;
    if (n === 0) continue;
    const name = m.getRowName(r);
    if (name === undefined) continue;
    names.push(name);
    count.push(n);
    if (sumOut !== null) {
      const s = view.sum![r]!;
      sumOut.push(s);
      avgOut!.push(s / n);
    }
    if (minOut !== null) minOut.push(view.min![r]!);
    if (maxOut !== null) maxOut.push(view.max![r]!);
  }
  if (names.length === 0 && !emitEmpty) return null;
  const out: Record<string, unknown> = { ...base, dimension_count: names.length, dimensions: names, count };
  if (sumOut !== null) {
    out.sum = sumOut;
    out.avg = avgOut;
  }
  if (minOut !== null) out.min = minOut;
  if (maxOut !== null) out.max = maxOut;
  return out;
}

/** emit = dimension: one event per dimension with data in the window. */
export function dimensionEvents(view: ClosedWindow, m: TimeWindowMatrix, base: Record<string, unknown>, values: DimensionValues, emit: (event: Record<string, unknown>) => void): void {
  for (let r = 0; r < view.rows; r++) {
    if (view.count[r]! === 0) continue;
    const name = m.getRowName(r);
    if (name === undefined) continue;
    emit({ ...base, dimension: name, ...values(view, r) });
  }
}

/** emit = window: one event with a key per dimension; null when empty and `emitEmpty` is off. */
export function windowEvent(view: ClosedWindow, m: TimeWindowMatrix, base: Record<string, unknown>, emitEmpty: boolean, values: DimensionValues): Record<string, unknown> | null {
  const dimensions: Record<string, Record<string, number>> = {};
  let n = 0;
  for (let r = 0; r < view.rows; r++) {
    if (view.count[r]! === 0) continue;
    const name = m.getRowName(r);
    if (name === undefined) continue;
    dimensions[name] = values(view, r);
    n++;
  }
  if (n === 0 && !emitEmpty) return null;
  return { ...base, dimension_count: n, dimensions };
}

/**
 * A part of a partitioned analyzer (`partitioned = true`): an analyzer of the same class and
 * config, with its own unregistered matrix holding `state` (a snapshot; null: empty), whose results
 * go to `forward` (the owner emits them under its id).
 */
export function windowPart(owner: TimeWindowAnalyzer, name: string, state: Uint8Array | null, forward: (result: Record<string, unknown>) => void): TimeWindowAnalyzer {
  const m = owner.matrix;
  const matrix = new TimeWindowMatrix(owner.app, { id: `${m.id}@${name}`, dtype: m.fields.map((f) => [f.name, f.format] as const), config: { resolution: owner.resolution, columns: owner.columns } });
  if (state !== null) matrix.restoreSnapshot(state);
  const Part = owner.constructor as new (app: Application, pipeline: Pipeline, options: TimeWindowAnalyzerOptions) => TimeWindowAnalyzer;
  const config = { ...owner.config.toJSON(), partitioned: false, target: "", flush_on_stop: false, persistent: false, matrix_id: "", analyze_on: "", analyze_on_clock: false };
  return new Part(owner.app, owner.pipeline, { id: `${owner.id}@${name}`, config, matrix, detectors: owner.detectors, sink: forward, partition: name });
}
