/**
 * A strptime format compiled to one straight-line JavaScript function that scans the text by
 * character codes: fixed-width and 1–2 digit fields read in place, month names by a numeric key of
 * their three letters, literals compared by code. No regex, no substring, no loop over the format
 * per event (a DATETIME.PARSE in a log parser runs on every event; the general regex parser was a
 * fifth of a parser's time).
 *
 * Only formats whose meaning does not depend on backtracking are compiled here: a field of
 * variable width must be followed by something that cannot start with a digit (a literal that is
 * not a digit, whitespace, a month name, AM/PM, %z or the end). Anything else (%B, %a, %A, %Z, two
 * variable-width numbers in a row) returns null, and the caller keeps the regex parser, which
 * backtracks like Python's. Both give the same result for every text (test/declarative/strptime.test.ts).
 * The generated code embeds only numbers (character codes) and fixed snippets: no format text.
 */

/** What the generated scanner hands its fields to (validation and the UTC time, shared with the regex parser). */
export type Finish = (year: number, month: number, day: number, hour: number, minute: number, second: number, micro: number, offset: number | null, pm: number, yday: number) => unknown;

// %b / %h: the three letters as one number (codes < 65536, so no two spellings collide).
export const monthKey = (a: number, b: number, c: number): number => (a * 65536 + b) * 65536 + c;

// Variable-width digit fields: [min, max] digits and the variable they set.
const NUMBERS: Record<string, [number, number, string]> = {
  Y: [4, 4, "year"],
  y: [2, 2, "yy"],
  m: [1, 2, "month"],
  d: [1, 2, "day"],
  H: [1, 2, "hour"],
  I: [1, 2, "hour12"],
  M: [1, 2, "minute"],
  S: [1, 2, "second"],
  f: [1, 6, "micro"],
  j: [1, 3, "yday"],
};

type Step = { kind: "num"; d: string } | { kind: "lit"; code: number } | { kind: "ws" } | { kind: "mon" } | { kind: "pm" } | { kind: "z" };

function steps(format: string): Step[] | null {
  const out: Step[] = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "%") {
      const d = format[++i];
      if (d === "%") out.push({ kind: "lit", code: 37 });
      else if (d !== undefined && NUMBERS[d]) out.push({ kind: "num", d });
      else if (d === "b" || d === "h") out.push({ kind: "mon" });
      else if (d === "p") out.push({ kind: "pm" });
      else if (d === "z") out.push({ kind: "z" });
      else return null;
    } else if (/\s/.test(ch)) {
      out.push({ kind: "ws" });
      while (i + 1 < format.length && /\s/.test(format[i + 1]!)) i++;
    } else out.push({ kind: "lit", code: ch.charCodeAt(0) });
  }
  // Greedy reading equals the regex's backtracking only when what follows a variable-width field
  // cannot start with what the field could still take.
  for (let i = 0; i < out.length; i++) {
    const s = out[i]!;
    const next = out[i + 1];
    const variable = (s.kind === "num" && NUMBERS[s.d]![0] !== NUMBERS[s.d]![1]) || s.kind === "z";
    if (!variable || next === undefined) continue;
    if (next.kind === "num") return null;
    if (next.kind === "lit" && ((next.code >= 48 && next.code <= 57) || (s.kind === "z" && next.code === 58))) return null;
  }
  return out;
}

// A JavaScript `\s` (what the regex parser's `\s+` accepts).
const SPACE = "(c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 5760 || (c >= 8192 && c <= 8202) || c === 8232 || c === 8233 || c === 8239 || c === 8287 || c === 12288 || c === 65279)";

function digitsCode(min: number, max: number, target: string): string {
  let code = `v = 0;\n`;
  for (let k = 0; k < max; k++) {
    const read = `c = t.charCodeAt(p) - 48;`;
    if (k < min) code += `${read} if (!(c >= 0 && c <= 9)) return null; v = v * 10 + c; p++;\n`;
    else code += `${read} if (c >= 0 && c <= 9) { v = v * 10 + c; p++;\n`;
  }
  code += "}".repeat(max - min) + "\n";
  if (target === "micro") return `w = p;\n${code}micro = v * 10 ** (${max} - (p - w));\n`;
  if (target === "yy") return `${code}year = v + (v < 69 ? 2000 : 1900);\n`;
  if (target === "hour12") return `${code}hour = v % 12;\n`;
  return `${code}${target} = v;\n`;
}

/** The compiled scanner of `format`, or null when the format needs the backtracking regex parser. */
export function compileScanner(format: string, months: ReadonlyMap<number, number>, finish: Finish): ((text: string, defaultYear: number | null) => unknown) | null {
  const plan = steps(format);
  if (plan === null) return null;
  let body = "";
  for (const s of plan) {
    switch (s.kind) {
      case "num": {
        const [min, max, target] = NUMBERS[s.d]!;
        body += digitsCode(min, max, target);
        break;
      }
      case "lit":
        body += `if (t.charCodeAt(p) !== ${s.code}) return null; p++;\n`;
        break;
      case "ws":
        body += `c = t.charCodeAt(p); if (!${SPACE}) return null; p++;\nfor (;;) { c = t.charCodeAt(p); if (!${SPACE}) break; p++; }\n`;
        break;
      case "mon":
        body += `v = months.get(monthKey(t.charCodeAt(p), t.charCodeAt(p + 1), t.charCodeAt(p + 2))); if (v === undefined) return null; month = v; p += 3;\n`;
        break;
      case "pm":
        body += `c = t.charCodeAt(p); w = t.charCodeAt(p + 1); if (!((c === 65 || c === 97 || c === 80 || c === 112) && (w === 77 || w === 109))) return null; pm = c === 80 || c === 112 ? 1 : 0; p += 2;\n`;
        break;
      case "z":
        // Z | [+-]HH:?MM(:?SS)?
        body += `c = t.charCodeAt(p);
if (c === 90) { offset = 0; p++; }
else if (c === 43 || c === 45) {
  const sign = c === 45 ? -1 : 1; p++;
  ${digitsCode(2, 2, "zh")}
  if (t.charCodeAt(p) === 58) p++;
  ${digitsCode(2, 2, "zm")}
  zs = 0;
  w = t.charCodeAt(p) === 58 ? 1 : 0;
  c = t.charCodeAt(p + w) - 48; v = t.charCodeAt(p + w + 1) - 48;
  if (c >= 0 && c <= 9 && v >= 0 && v <= 9) { zs = c * 10 + v; p += w + 2; }
  offset = sign * (zh * 3600 + zm * 60 + zs);
} else return null;
`;
        break;
    }
  }
  const source = `"use strict";
return function scan(t, defaultYear) {
  let p = 0, c = 0, v = 0, w = 0, zh = 0, zm = 0, zs = 0;
  let year = defaultYear ?? 1900, month = 1, day = 1, hour = 0, minute = 0, second = 0, micro = 0, offset = null, pm = -1, yday = -1;
${body}  if (p !== t.length) return null;
  return finish(year, month, day, hour, minute, second, micro, offset, pm, yday);
};`;
  return new Function("months", "monthKey", "finish", source)(months, monthKey, finish) as (text: string, defaultYear: number | null) => unknown;
}
