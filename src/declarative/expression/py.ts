/**
 * Python value semantics the declarations rely on: truthiness, `==` (1 == 1.0 == True, deep for
 * lists and dicts), ordering (TypeError across types), `+` on numbers, strings and lists, `%` with
 * the divisor's sign, and `str()`. None is `null`; `undefined` (a missing key) is treated as None.
 */

export class PyTypeError extends TypeError {}

export function typeName(v: unknown): string {
  if (v == null) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return "list";
  if (v instanceof Set) return "set";
  if (v instanceof Uint8Array) return "bytes";
  return "dict";
}

export function truthy(v: unknown): boolean {
  if (v == null) return false;
  switch (typeof v) {
    case "boolean":
      return v;
    case "number":
      return v !== 0 && !Number.isNaN(v);
    case "string":
      return v.length > 0;
    case "bigint":
      return v !== 0n;
    case "object":
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof Set || v instanceof Map) return v.size > 0;
      for (const _ in v) return true;
      return false;
    default:
      return true;
  }
}

function numeric(v: unknown): number | bigint | null {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return null;
}

export function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  const na = numeric(a);
  if (na !== null) {
    const nb = numeric(b);
    // eslint-disable-next-line eqeqeq -- number == bigint compares values, as Python does
    return nb !== null && na == nb;
  }
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Set) return b instanceof Set && a.size === b.size && [...a].every((x) => b.has(x));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.hasOwn(b as object, k) || !eq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** Python's ordering: numbers with numbers, strings with strings, lists element-wise; else TypeError. */
export function compare(a: unknown, b: unknown, op: string): number {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== null && nb !== null) return na < nb ? -1 : na > nb ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < a.length && i < b.length; i++) {
      if (!eq(a[i], b[i])) return compare(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  throw new PyTypeError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

export function add(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (typeof a === "string" && typeof b === "string") return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return arith(a, b, "+", (x, y) => x + y, (x, y) => x + y);
}

export function arith(a: unknown, b: unknown, op: string, f: (x: number, y: number) => number, g: (x: bigint, y: bigint) => bigint): number | bigint {
  const x = numeric(a);
  const y = numeric(b);
  if (x === null || y === null) throw new PyTypeError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  if (typeof x === "bigint" || typeof y === "bigint") {
    if (typeof x === "bigint" && typeof y === "bigint") return g(x, y);
    return f(Number(x), Number(y));
  }
  return f(x, y);
}

export function sub(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return arith(a, b, "-", (x, y) => x - y, (x, y) => x - y);
}

export function mul(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number") return a * b;
  // Python repeats a string or list by an int; a result beyond 2^27 items is refused (Python's MemoryError).
  if ((typeof a === "string" || Array.isArray(a)) && Number.isInteger(b)) {
    const n = Math.max(0, b as number);
    if (n * a.length > 2 ** 27) throw new PyTypeError(`repeating ${typeName(a)} of ${a.length} by ${n}: result too large`);
    return typeof a === "string" ? a.repeat(n) : Array.from({ length: n }, () => a).flat();
  }
  return arith(a, b, "*", (x, y) => x * y, (x, y) => x * y);
}

export function div(a: unknown, b: unknown): unknown {
  const r = arith(a, b, "/", (x, y) => {
    if (y === 0) throw new ZeroDivisionError("division by zero");
    return x / y;
  }, (x, y) => {
    if (y === 0n) throw new ZeroDivisionError("division by zero");
    return x / y;
  });
  return typeof r === "bigint" ? Number(r) : r;
}

/** Python's `//`: floor, not truncation (-7 // 2 == -4). */
export function floordiv(a: unknown, b: unknown): unknown {
  return arith(a, b, "//", (x, y) => {
    if (y === 0) throw new ZeroDivisionError("integer division or modulo by zero");
    return Math.floor(x / y);
  }, (x, y) => {
    if (y === 0n) throw new ZeroDivisionError("integer division or modulo by zero");
    const q = x / y;
    return (x % y !== 0n && (x < 0n) !== (y < 0n)) ? q - 1n : q;
  });
}

/** Python's `%`: the result has the divisor's sign (-7 % 3 == 2). */
export function mod(a: unknown, b: unknown): unknown {
  if (typeof a === "string") throw new PyTypeError("string formatting with % is not supported in declarations");
  return arith(a, b, "%", (x, y) => {
    if (y === 0) throw new ZeroDivisionError("integer division or modulo by zero");
    const r = x % y;
    return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
  }, (x, y) => {
    if (y === 0n) throw new ZeroDivisionError("integer division or modulo by zero");
    const r = x % y;
    return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r;
  });
}

export function pow(a: unknown, b: unknown): unknown {
  return arith(a, b, "**", (x, y) => x ** y, (x, y) => (y < 0n ? BigInt(Number(x) ** Number(y)) : x ** y));
}

export class ZeroDivisionError extends Error {
  override name = "ZeroDivisionError";
}

/** Python's `str()`, for JOIN, CAST str and string building. */
export function str(v: unknown): string {
  if (typeof v === "string") return v;
  return repr(v, false);
}

export function repr(v: unknown, quote = true): string {
  if (v == null) return "None";
  switch (typeof v) {
    case "boolean":
      return v ? "True" : "False";
    case "number":
      if (Number.isNaN(v)) return "nan";
      if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
      return String(v);
    case "bigint":
      return v.toString();
    case "string":
      return quote ? `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'` : v;
    case "object":
      if (Array.isArray(v)) return `[${v.map((x) => repr(x)).join(", ")}]`;
      if (v instanceof Set) return v.size === 0 ? "set()" : `{${[...v].map((x) => repr(x)).join(", ")}}`;
      return `{${Object.entries(v).map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(", ")}}`;
    default:
      return String(v);
  }
}

/** `x in y` for a str, list, set or dict. */
export function contains(container: unknown, item: unknown): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") throw new PyTypeError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) {
    for (const x of container) if (eq(x, item)) return true;
    return false;
  }
  if (container instanceof Set) return container.has(item) || (typeof item === "boolean" && container.has(item ? 1 : 0));
  if (container != null && typeof container === "object") return (typeof item === "string" || typeof item === "number") && Object.hasOwn(container, String(item));
  throw new PyTypeError(`argument of type '${typeName(container)}' is not iterable`);
}

/** A primitive that Python would hash equally: True and 1 are the same dict key. */
export function hashKey(v: unknown): unknown {
  return typeof v === "boolean" ? (v ? 1 : 0) : v === undefined ? null : v;
}

export function isDict(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Set) && !(v instanceof Uint8Array);
}
