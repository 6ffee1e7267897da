/**
 * Python's strptime/strftime subset the declarations use, compiled once per format: a parse is
 * a scanner generated for the format (strptimeCode.ts), or one regex match where the format needs
 * backtracking; a format is a few string appends. Time zones by IANA name through
 * Intl (the offset of a zone at an instant); `UTC` and fixed offsets need no lookup.
 */

import { compileScanner, monthKey } from "./strptimeCode.js";

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const cap = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

export const clock = { now: (): number => Date.now() / 1000 };

const zones = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for an unknown zone. */
export function checkZone(zone: string): void {
  zoneFormat(zone);
}

function zoneFormat(zone: string): Intl.DateTimeFormat {
  let f = zones.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    zones.set(zone, f);
  }
  return f;
}

/** Seconds east of UTC of `zone` at the instant `utcMs`. */
export function zoneOffset(zone: string | null, utcMs: number): number {
  if (zone === null || zone === "UTC" || zone === "Etc/UTC") return 0;
  const parts = zoneFormat(zone).formatToParts(new Date(Math.floor(utcMs / 1000) * 1000));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)!.value);
  const local = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((local - Math.floor(utcMs / 1000) * 1000) / 1000);
}

/** A wall-clock time in `zone` → UTC ms (the offset found in two steps, for DST edges). */
export function localToUtc(localMs: number, zone: string | null): number {
  if (zone === null) return localMs;
  const first = localMs - zoneOffset(zone, localMs) * 1000;
  return localMs - zoneOffset(zone, first) * 1000;
}

export interface Parsed {
  ms: number;
  micro: number;
  offset: number | null;
}

export interface Parser {
  (text: string, defaultYear: number | null): Parsed | null;
}

// Directive → the regex of its text; the parser reads the groups into locals (no intermediate
// object): it runs per event in parsers.
const PATTERNS: Record<string, string> = {
  Y: "(\\d{4})",
  y: "(\\d{2})",
  m: "(\\d{1,2})",
  d: "(\\d{1,2})",
  H: "(\\d{1,2})",
  I: "(\\d{1,2})",
  M: "(\\d{1,2})",
  S: "(\\d{1,2})",
  f: "(\\d{1,6})",
  j: "(\\d{1,3})",
  p: "([AaPp][Mm])",
  b: "([A-Za-z]{3})",
  h: "([A-Za-z]{3})",
  B: "([A-Za-z]{3,9})",
  a: "(?:[A-Za-z]{3})",
  A: "(?:[A-Za-z]{6,9})",
  Z: "(?:UTC|GMT|[A-Z]{2,5})",
  z: "(Z|[+-]\\d{2}:?\\d{2}(?::?\\d{2})?)",
};

const MONTH_OF = new Map<string, number>();
MONTHS.forEach((m, i) => {
  for (const name of [m, m.slice(0, 3)]) for (const v of [name, cap(name), name.toUpperCase()]) MONTH_OF.set(v, i + 1);
});

// The three-letter spellings of MONTH_OF by their character codes (the compiled scanners' %b).
const MONTH_KEYS = new Map<number, number>();
for (const [name, month] of MONTH_OF) if (name.length === 3) MONTH_KEYS.set(monthKey(name.charCodeAt(0), name.charCodeAt(1), name.charCodeAt(2)), month);

/** UTC ms of a proleptic Gregorian date and time (what Date.UTC gives for years >= 100, without its argument conversions). */
export function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000;
}

/** A string of ASCII digits (the regex made sure) as a number. */
const digits = (s: string): number => +s;

function daysIn(year: number, month: number): number {
  return month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Compiles a strptime format; throws for an unknown directive. `scan: false` keeps the regex parser (tests compare the two). */
export function strptime(format: string, scan = true): Parser {
  let pattern = "^";
  const fields: string[] = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "%") {
      const d = format[++i];
      if (d === "%") pattern += "%";
      else if (d !== undefined && PATTERNS[d]) {
        pattern += PATTERNS[d];
        if (PATTERNS[d]!.startsWith("(") && !PATTERNS[d]!.startsWith("(?:")) fields.push(d);
      } else throw new Error(`unsupported directive '%${d ?? ""}' in '${format}'`);
    } else if (/\s/.test(ch)) {
      pattern += "\\s+";
      while (i + 1 < format.length && /\s/.test(format[i + 1]!)) i++;
    } else pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  // One result object per parser, overwritten by each call (callers read it at once): no allocation per event.
  const out: Parsed = { ms: 0, micro: 0, offset: null };
  const finish = (year: number, month: number, day: number, hour: number, minute: number, second: number, micro: number, offset: number | null, pm: number, yday: number): Parsed | null => {
    if (pm >= 0) hour = (hour % 12) + (pm === 1 ? 12 : 0);
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 61) return null;
    let ms = yday >= 0 ? Date.UTC(year, 0, 1, hour, minute, second) + (yday - 1) * 86400000 : year >= 100 ? utcMs(year, month, day, hour, minute, Math.min(second, 59)) : Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
    if (year < 100) ms = new Date(ms).setUTCFullYear(year);
    out.ms = ms;
    out.micro = micro;
    out.offset = offset;
    return out;
  };
  // Most formats compile to a scanner of their own; the regex below is for the rest.
  const scanner = scan ? compileScanner(format, MONTH_KEYS, finish) : null;
  if (scanner !== null) return scanner as Parser;
  const re = new RegExp(pattern + "$");
  const codes = fields.map((f) => f.charCodeAt(0));
  return (text, defaultYear) => {
    const m = re.exec(text);
    if (m === null) return null;
    let year = defaultYear ?? 1900;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let micro = 0;
    let offset: number | null = null;
    let pm = -1;
    let yday = -1;
    for (let i = 0; i < codes.length; i++) {
      const t = m[i + 1]!;
      switch (codes[i]) {
        case 89: year = digits(t); break; // Y
        case 121: year = digits(t) + (digits(t) < 69 ? 2000 : 1900); break; // y
        case 109: month = digits(t); break; // m
        case 100: day = digits(t); break; // d
        case 72: hour = digits(t); break; // H
        case 73: hour = digits(t) % 12; break; // I
        case 77: minute = digits(t); break; // M
        case 83: second = digits(t); break; // S
        case 102: micro = digits(t) * 10 ** (6 - t.length); break; // f
        case 106: yday = digits(t); break; // j
        case 112: pm = t[0] === "p" || t[0] === "P" ? 1 : 0; break; // p
        case 98: case 104: case 66: { // b h B
          const mo = MONTH_OF.get(t);
          if (mo === undefined || (codes[i] === 66 && t.length === 3)) return null;
          month = mo;
          break;
        }
        case 122: { // z
          if (t === "Z") offset = 0;
          else {
            const c = t.charCodeAt(3) === 58 ? 1 : 0;
            const h = digits(t.slice(1, 3));
            const mi = digits(t.slice(3 + c, 5 + c));
            const se = t.length > 5 + c ? digits(t.slice(t.length - 2)) : 0;
            offset = (t[0] === "-" ? -1 : 1) * (h * 3600 + mi * 60 + se);
          }
          break;
        }
      }
    }
    return finish(year, month, day, hour, minute, second, micro, offset, pm, yday);
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

export type Formatter = (ts: number, zone: string | null) => string;

/** Compiles a strftime format; throws for an unknown directive. */
export function strftime(format: string): Formatter {
  const parts: (string | ((d: Date, off: number, zone: string | null, micro: number) => string))[] = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%") {
      parts.push(ch);
      continue;
    }
    const d = format[++i];
    const f = {
      Y: (t: Date) => pad(t.getUTCFullYear(), 4),
      y: (t: Date) => pad(t.getUTCFullYear() % 100),
      m: (t: Date) => pad(t.getUTCMonth() + 1),
      d: (t: Date) => pad(t.getUTCDate()),
      H: (t: Date) => pad(t.getUTCHours()),
      I: (t: Date) => pad(t.getUTCHours() % 12 || 12),
      M: (t: Date) => pad(t.getUTCMinutes()),
      S: (t: Date) => pad(t.getUTCSeconds()),
      f: (_t: Date, _o: number, _z: string | null, micro: number) => pad(micro, 6),
      j: (t: Date) => pad(Math.floor((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86400000) + 1, 3),
      p: (t: Date) => (t.getUTCHours() < 12 ? "AM" : "PM"),
      b: (t: Date) => cap(MONTHS[t.getUTCMonth()]!.slice(0, 3)),
      B: (t: Date) => cap(MONTHS[t.getUTCMonth()]!),
      a: (t: Date) => cap(DAYS[(t.getUTCDay() + 6) % 7]!.slice(0, 3)),
      A: (t: Date) => cap(DAYS[(t.getUTCDay() + 6) % 7]!),
      w: (t: Date) => String(t.getUTCDay()),
      u: (t: Date) => String(((t.getUTCDay() + 6) % 7) + 1),
      z: (_t: Date, off: number, zone: string | null) => (zone === null ? "" : `${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 3600))}${pad(Math.floor((Math.abs(off) % 3600) / 60))}`),
      Z: (_t: Date, _o: number, zone: string | null) => zone ?? "",
      s: (t: Date) => String(Math.floor(t.getTime() / 1000)),
      "%": () => "%",
    }[d as "Y"];
    if (!f) throw new Error(`unsupported directive '%${d ?? ""}' in '${format}'`);
    parts.push(f);
  }
  return (ts, zone) => {
    const ms = Math.floor(ts * 1000);
    const micro = Math.round((ts - Math.floor(ts)) * 1e6) % 1000000;
    const off = zoneOffset(zone, ms);
    const t = new Date(ms + off * 1000);
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(t, off, zone, micro);
    return out;
  };
}

export const WEEKDAYS = DAYS;
