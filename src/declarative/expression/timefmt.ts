/**
 * Python's strptime/strftime subset the declarations use, compiled once per format: a parse is
 * one regex match and Date.UTC, a format a few string appends. Time zones by IANA name through
 * Intl (the offset of a zone at an instant); `UTC` and fixed offsets need no lookup.
 */

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

export interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
  offset: number | null;
  pm: boolean | null;
  yday: number | null;
}

type Setter = (f: Fields, text: string) => void;

const DIRECTIVES: Record<string, [string, Setter | null]> = {
  Y: ["(\\d{4})", (f, t) => (f.year = Number(t))],
  y: ["(\\d{2})", (f, t) => (f.year = Number(t) + (Number(t) < 69 ? 2000 : 1900))],
  m: ["(\\d{1,2})", (f, t) => (f.month = Number(t))],
  d: ["(\\d{1,2})", (f, t) => (f.day = Number(t))],
  H: ["(\\d{1,2})", (f, t) => (f.hour = Number(t))],
  I: ["(\\d{1,2})", (f, t) => (f.hour = Number(t) % 12)],
  M: ["(\\d{1,2})", (f, t) => (f.minute = Number(t))],
  S: ["(\\d{1,2})", (f, t) => (f.second = Number(t))],
  f: ["(\\d{1,6})", (f, t) => (f.micro = Number(t.padEnd(6, "0")))],
  j: ["(\\d{1,3})", (f, t) => (f.yday = Number(t))],
  p: ["(am|pm)", (f, t) => (f.pm = t.toLowerCase() === "pm")],
  b: [`(${MONTHS.map((m) => m.slice(0, 3)).join("|")})`, (f, t) => (f.month = MONTHS.findIndex((m) => m.startsWith(t.toLowerCase())) + 1)],
  B: [`(${MONTHS.join("|")})`, (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1)],
  a: [`(?:${DAYS.map((d) => d.slice(0, 3)).join("|")})`, null],
  A: [`(?:${DAYS.join("|")})`, null],
  Z: ["(?:UTC|GMT|[A-Z]{2,5})", null],
  z: ["(Z|[+-]\\d{2}:?\\d{2}(?::?\\d{2})?)", (f, t) => {
    if (t === "Z") f.offset = 0;
    else {
      const d = t.replace(/:/g, "");
      f.offset = (t[0] === "-" ? -1 : 1) * (Number(d.slice(1, 3)) * 3600 + Number(d.slice(3, 5)) * 60 + Number(d.slice(5, 7) || 0));
    }
  }],
};
DIRECTIVES["h"] = DIRECTIVES["b"]!;

export interface Parser {
  (text: string, defaultYear: number | null): { ms: number; micro: number; offset: number | null } | null;
}

/** Compiles a strptime format; throws for an unknown directive. */
export function strptime(format: string): Parser {
  let pattern = "^";
  const setters: (Setter | null)[] = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "%") {
      const d = format[++i];
      if (d === "%") pattern += "%";
      else if (d !== undefined && DIRECTIVES[d]) {
        const [re, set] = DIRECTIVES[d]!;
        pattern += re;
        if (set) setters.push(set);
      } else throw new Error(`unsupported directive '%${d ?? ""}' in '${format}'`);
    } else if (/\s/.test(ch)) {
      pattern += "\\s+";
      while (i + 1 < format.length && /\s/.test(format[i + 1]!)) i++;
    } else pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const re = new RegExp(pattern + "$", "i");
  return (text, defaultYear) => {
    const m = re.exec(text);
    if (m === null) return null;
    const f: Fields = { year: defaultYear ?? 1900, month: 1, day: 1, hour: 0, minute: 0, second: 0, micro: 0, offset: null, pm: null, yday: null };
    for (let i = 0; i < setters.length; i++) setters[i]!(f, m[i + 1]!);
    if (f.pm !== null) f.hour = (f.hour % 12) + (f.pm ? 12 : 0);
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 61) return null;
    let ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, Math.min(f.second, 59));
    if (f.yday !== null) ms = Date.UTC(f.year, 0, 1, f.hour, f.minute, f.second) + (f.yday - 1) * 86400000;
    // Date.UTC rolls 31 February over into March; Python refuses it.
    else if (new Date(ms).getUTCDate() !== f.day) return null;
    if (f.year < 100) ms = new Date(ms).setUTCFullYear(f.year);
    return { ms, micro: f.micro, offset: f.offset };
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
