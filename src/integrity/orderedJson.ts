/**
 * JSON read as Python reads it, for `bsintegrity`: objects keep their document order (JavaScript
 * moves integer-like keys such as "7" to the front) and numbers keep their text (JavaScript turns
 * `1.0` into 1 and rounds integers above 2^53), so that a document stored by BSPump can be written
 * back as Python's `json.dumps` wrote it when its hash was made.
 */
import { pythonFloatRepr, pythonJsonDumps } from "../codec/json.js";

/** A number as written in the document. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** An object's members in document order. */
export class OrderedObject {
  constructor(readonly entries: [string, OrderedValue][]) {}

  get(key: string): OrderedValue | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
}

export type OrderedValue = null | boolean | string | JsonNumber | OrderedValue[] | OrderedObject;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SPACE = /[ \t\n\r]*/y;

/** Parses JSON text; throws a SyntaxError naming the offset on malformed input. */
export function parseOrdered(text: string): OrderedValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${at} of the JSON text`);
  };
  const space = (): void => {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  };
  const string = (): string => {
    const start = at;
    let i = at + 1;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail("unterminated string");
      if (c === 34) break;
      i += c === 92 ? 2 : 1;
    }
    at = i + 1;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (): OrderedValue => {
    space();
    const c = text.charCodeAt(at);
    if (c === 34) return string();
    if (c === 123) {
      at++;
      const entries: [string, OrderedValue][] = [];
      space();
      if (text.charCodeAt(at) === 125) {
        at++;
        return new OrderedObject(entries);
      }
      for (;;) {
        space();
        if (text.charCodeAt(at) !== 34) fail("expected a key");
        const key = string();
        space();
        if (text.charCodeAt(at++) !== 58) fail("expected ':'");
        entries.push([key, value()]);
        space();
        const next = text.charCodeAt(at++);
        if (next === 125) return new OrderedObject(entries);
        if (next !== 44) fail("expected ',' or '}'");
      }
    }
    if (c === 91) {
      at++;
      const items: OrderedValue[] = [];
      space();
      if (text.charCodeAt(at) === 93) {
        at++;
        return items;
      }
      for (;;) {
        items.push(value());
        space();
        const next = text.charCodeAt(at++);
        if (next === 93) return items;
        if (next !== 44) fail("expected ',' or ']'");
      }
    }
    if (text.startsWith("true", at)) return (at += 4), true;
    if (text.startsWith("false", at)) return (at += 5), false;
    if (text.startsWith("null", at)) return (at += 4), null;
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (m === null) return fail("unexpected character");
    at = NUMBER.lastIndex;
    return new JsonNumber(m[0]);
  };
  const result = value();
  space();
  if (at !== text.length) fail("unexpected text after the value");
  return result;
}

/**
 * A number as Python writes it after reading it: an integer as written (Python's are unbounded), a
 * float (a fraction or an exponent) as `repr(float)`, so `1E5` is `100000.0`.
 */
function pythonNumber(text: string): string {
  return /[.eE]/.test(text) ? pythonFloatRepr(Number(text)) : text;
}

/**
 * Python's `json.dumps(value)` of a parsed value (`", "`, `": "`, non-ASCII as `\uXXXX`, numbers
 * as Python reads and writes them), leaving out the top-level member `drop` when given.
 */
export function dumpsOrdered(value: OrderedValue, drop?: string): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pythonJsonDumps(value)!;
  if (value instanceof JsonNumber) return pythonNumber(value.text);
  if (Array.isArray(value)) return `[${value.map((v) => dumpsOrdered(v)).join(", ")}]`;
  const parts: string[] = [];
  for (const [k, v] of value.entries) if (k !== drop) parts.push(`${pythonJsonDumps(k)!}: ${dumpsOrdered(v)}`);
  return `{${parts.join(", ")}}`;
}
