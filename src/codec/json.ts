/** What `parseJSONLine` returns for an empty line: no value (NDJSON readers skip and count it). */
export const NO_VALUE: unique symbol = Symbol("bspump.codec.NO_VALUE");

/**
 * One NDJSON line → its value; NO_VALUE for an empty line; throws (a SyntaxError) on anything else
 * that is not JSON, a line of only spaces included (it is not empty: bad input, reported). The one
 * NDJSON rule of FileJSONSource (`lines`) and WebServiceSource (`ndjson`).
 */
export function parseJSONLine(line: string): unknown {
  return line.length === 0 ? NO_VALUE : JSON.parse(line);
}

/** Characters Python's `json.dumps` (ensure_ascii) writes as `\uXXXX`: all but printable ASCII. */
const NOT_PRINTABLE_ASCII = /[^\x00-\x7e]/;
const NOT_PRINTABLE_ASCII_ALL = /[^\x00-\x7e]/g;

function escapeCodeUnit(unit: string): string {
  return "\\u" + unit.charCodeAt(0).toString(16).padStart(4, "0");
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Where the string that opens before `from` closes: the next `"` not escaped by a backslash. */
function closingQuote(json: string, from: number): number {
  let quote = json.indexOf('"', from);
  while (json.charCodeAt(quote - 1) === 92) {
    let first = quote - 1;
    while (json.charCodeAt(first - 1) === 92) first--;
    if ((quote - first) % 2 === 0) break;
    quote = json.indexOf('"', quote + 1);
  }
  return quote;
}

/**
 * Python's `repr(float(x))`: the shortest digits that read back as `x` (as JavaScript's), written
 * positionally for exponents -4 to 15 (always with a fraction: `1.0`), else as `d.ddde+XX`.
 * `NaN`, `Infinity` and `-Infinity` as Python's json.dumps writes them.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const sign = x < 0 ? "-" : "";
  if (e < -4 || e >= 16) {
    const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const fraction = digits.slice(e + 1);
  return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
}

/**
 * JSON text as BSPump writes it: Python's `json.dumps(value)` with its defaults — `", "` and
 * `": "` between items, every character outside printable ASCII as `\uXXXX` (astral characters as
 * their surrogate pair). Keys keep insertion order, as both languages do. Numbers are written as
 * JavaScript writes them, but for exponents of two digits at least (`1e-07`) and numbers below
 * 1e-4 with an exponent (`1e-05`, where JavaScript writes `0.00001`); an integral float is
 * `1` where Python wrote `1.0` (JavaScript has one number type), and a float of 16 to 21 integer
 * digits is written in full where Python's repr used an exponent; NaN is `null`, where Python
 * wrote the non-JSON `NaN`. `undefined` for what JSON.stringify cannot write.
 *
 * JSON.stringify does the work; one pass adds the spaces outside strings (each string is jumped
 * with indexOf), and the escape pass runs only when the text has a non-ASCII character. About 1.8×
 * the time of JSON.stringify alone.
 */
export function pythonJsonDumps(value: unknown): string | undefined {
  const json = JSON.stringify(value);
  return json === undefined ? undefined : pythonForm(json);
}

/** JSON.stringify's text → pythonJsonDumps' (see there). */
function pythonForm(json: string): string {
  const n = json.length;
  let out = "";
  let from = 0;
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === 34) i = closingQuote(json, i + 1);
    else if (c === 48 && json.charCodeAt(i + 1) === 46 && json.startsWith("0000", i + 2) && !isDigit(json.charCodeAt(i - 1))) {
      // "0.0000…": JavaScript writes a number below 1e-4 (down to 1e-7) positionally where
      // Python's repr uses an exponent ("1e-05").
      let end = i + 6;
      while (isDigit(json.charCodeAt(end))) end++;
      out += json.slice(from, i) + pythonFloatRepr(Number(json.slice(i, end)));
      from = end;
      i = end - 1;
    } else if (c === 44 || c === 58) {
      out += json.slice(from, i + 1) + " ";
      from = i + 1;
    } else if (c === 101 && !isDigit(json.charCodeAt(i + 3))) {
      // A one-digit exponent ("1e-7"; `true`/`false` end here too, followed by no sign): Python
      // writes two digits ("1e-07").
      const sign = json.charCodeAt(i + 1);
      if (sign === 43 || sign === 45) {
        out += json.slice(from, i + 2) + "0";
        from = i + 2;
      }
    }
  }
  const spaced = from === 0 ? json : out + json.slice(from);
  return NOT_PRINTABLE_ASCII.test(spaced) ? spaced.replace(NOT_PRINTABLE_ASCII_ALL, escapeCodeUnit) : spaced;
}

/** Reused between calls: JSON.stringify's text as bytes, and the spaced form before it is copied out. */
let scratchText = Buffer.allocUnsafe(0);
let scratchSpaced = Buffer.allocUnsafe(0);
/** Texts longer than this take pythonJsonDumps' way: the scratch buffers stay small. */
const SCRATCH_MAX = 64 * 1024;

/**
 * pythonJsonDumps(value) as ASCII bytes: the same text, written in one pass over JSON.stringify's
 * bytes instead of string slices joined and then encoded (K1 spent ~12 % of its main thread in
 * the string form). The rare texts that need more than spaces (a character outside printable
 * ASCII, a number with an exponent or below 1e-4) and very long ones take pythonJsonDumps.
 */
export function pythonJsonDumpsBytes(value: unknown): Buffer | undefined {
  const json = JSON.stringify(value);
  if (json === undefined) return undefined;
  const n = json.length;
  if (n > SCRATCH_MAX) return slowBytes(json);
  if (scratchText.length <= n) {
    scratchText = Buffer.allocUnsafe(Math.max(1024, 2 * n + 1));
    scratchSpaced = Buffer.allocUnsafe(2 * scratchText.length);
  }
  const text = scratchText;
  const out = scratchSpaced;
  // More bytes than characters, or a byte of 0x7f and above: not all printable ASCII.
  if (text.write(json, 0, "utf8") !== n) return slowBytes(json);
  let j = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    if (c >= 0x7f) return slowBytes(json);
    out[j++] = c;
    if (inString) {
      if (c === 92) out[j++] = text[++i]!;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 44 || c === 58) out[j++] = 32;
    else if ((c === 101 || c === 69) && isDigit(text[i - 1]!)) return slowBytes(json);
    else if (c === 46 && text[i - 1] === 48 && text[i + 1] === 48 && text[i + 2] === 48 && text[i + 3] === 48 && text[i + 4] === 48) return slowBytes(json);
  }
  const result = Buffer.allocUnsafe(j);
  out.copy(result, 0, 0, j);
  return result;
}

/** The text form, from the JSON text already made; it is ASCII: latin1 writes it as it is, without UTF-8's checks. */
function slowBytes(json: string): Buffer {
  return Buffer.from(pythonForm(json), "latin1");
}
