import { ConfigError } from "../core/index.js";

/**
 * A field format, as BSPump's numpy dtypes: numbers (`f8`, `f4`, `i8`, `i4`, `i2`, `i1`, `u1`,
 * `b`, `float_`, `int_`) are kept in Float64Array columns; strings (`U`, `U30`, `str`) in arrays.
 */
export type FieldFormat = string;

/** BSPump's `dtype`: one format for a single unnamed field, or a list of `(name, format)` pairs. */
export type DType = FieldFormat | ReadonlyArray<readonly [string, FieldFormat]>;

export interface FieldDef {
  readonly name: string;
  readonly format: FieldFormat;
  readonly kind: "number" | "string";
}

/** One column of one field: a value per row. */
export type Column = Float64Array | string[];

/** The name of the single field of a matrix built with a plain dtype such as "float_". */
export const VALUE_FIELD = "value";

function parseFormat(format: string): "number" | "string" {
  const f = format.trim();
  if (f === "str" || /^<?U\d*$/.test(f) || f === "U") return "string";
  if (/^(float_|int_|f[248]|i[1248]|u[1248]|b|bool|float64|float32|int64|int32|int16|int8|uint8)$/.test(f)) return "number";
  throw new ConfigError(`Unsupported matrix field format '${format}' (numbers: f8 f4 i8 i4 i2 i1 u1 b float_ int_; strings: U, U<n>, str)`);
}

export function parseDType(dtype: DType): FieldDef[] {
  if (typeof dtype === "string") return [{ name: VALUE_FIELD, format: dtype, kind: parseFormat(dtype) }];
  if (dtype.length === 0) throw new ConfigError("A matrix dtype needs at least one field");
  const seen = new Set<string>();
  return dtype.map(([name, format]) => {
    if (seen.has(name)) throw new ConfigError(`Matrix dtype names field '${name}' twice`);
    seen.add(name);
    return { name, format, kind: parseFormat(format) };
  });
}
