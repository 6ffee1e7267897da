/**
 * An index name with strftime-style date fields, e.g. `events-%Y.%m.%d`, formatted in UTC.
 * Supported: `%Y %y %m %d %H %M %S %j %V %G %%`. Names are cached per time slot (a day for
 * `%Y.%m.%d`, an hour when `%H` is used, …), so formatting per event costs a division and a compare.
 */
export class IndexNamePattern {
  readonly hasDate: boolean;
  /** Seconds per slot: the finest field in the pattern. */
  private readonly slot: number;
  private cachedSlot = Number.NaN;
  private cachedName = "";

  constructor(readonly pattern: string) {
    this.hasDate = /%[YymdHMSjVG]/.test(pattern);
    if (/%S/.test(pattern)) this.slot = 1;
    else if (/%M/.test(pattern)) this.slot = 60;
    else if (/%H/.test(pattern)) this.slot = 3600;
    else this.slot = 86400;
    const unknown = /%([^YymdHMSjVG%])/.exec(pattern);
    if (unknown) throw new Error(`Index name pattern '${pattern}': unsupported field %${unknown[1]} (use %Y %y %m %d %H %M %S %j %V %G %%)`);
  }

  /** The index name for a time in seconds since the epoch. */
  format(seconds: number): string {
    if (!this.hasDate) return this.pattern;
    const s = Math.floor(seconds / this.slot);
    if (s === this.cachedSlot) return this.cachedName;
    this.cachedSlot = s;
    this.cachedName = formatDate(this.pattern, new Date(s * this.slot * 1000));
    return this.cachedName;
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** ISO-8601 week number and week-based year of a UTC date. */
function isoWeek(d: Date): [number, number] {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return [Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7), t.getUTCFullYear()];
}

/** strftime subset, UTC. */
export function formatDate(pattern: string, d: Date): string {
  return pattern.replace(/%([YymdHMSjVG%])/g, (_m, f: string) => {
    switch (f) {
      case "Y":
        return String(d.getUTCFullYear());
      case "y":
        return pad(d.getUTCFullYear() % 100);
      case "m":
        return pad(d.getUTCMonth() + 1);
      case "d":
        return pad(d.getUTCDate());
      case "H":
        return pad(d.getUTCHours());
      case "M":
        return pad(d.getUTCMinutes());
      case "S":
        return pad(d.getUTCSeconds());
      case "j":
        return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1, 3);
      case "V":
        return pad(isoWeek(d)[0]);
      case "G":
        return String(isoWeek(d)[1]);
      default:
        return "%";
    }
  });
}

/**
 * Reads an event time as seconds since the epoch: a number (seconds, or milliseconds when it is
 * larger than 1e11), a numeric string, an ISO-8601 string, or a Date. NaN when it is none of these.
 */
export function toEpochSeconds(value: unknown): number {
  if (typeof value === "number") return value > 1e11 ? value / 1000 : value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (typeof value === "string") {
    const n = Number(value);
    if (value.trim() !== "" && Number.isFinite(n)) return n > 1e11 ? n / 1000 : n;
    return Date.parse(value) / 1000;
  }
  return Number.NaN;
}
