import type { ExprNode } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { checkZone, clock, localToUtc, strftime, strptime, zoneOffset } from "../timefmt.js";

/** The `timezone` argument (a literal IANA name), falling back to `[declarations] timezone`. */
function zoneArg(n: ExprNode, c: Compiler): string | null {
  const node = c.argNode(n, "timezone");
  let zone: unknown = c.options.timezone ?? null;
  if (node) {
    if (node.kind !== "value" || (node.value !== null && typeof node.value !== "string")) return c.fail(node, "'timezone' must be a literal time zone name", n.tag);
    zone = node.value;
  }
  if (zone === null || zone === "") return null;
  try {
    checkZone(zone as string);
  } catch {
    c.fail(node ?? n, `unknown time zone '${String(zone)}'`, n.tag);
  }
  return zone as string;
}

function formatArg(n: ExprNode, c: Compiler): string {
  const node = c.argNode(n, "format");
  if (!node || node.kind !== "value" || typeof node.value !== "string") return c.fail(node ?? n, "'format' must be a literal string", n.tag);
  return node.value === "RFC3339" ? "%Y-%m-%dT%H:%M:%S.%fZ" : node.value;
}

const GET = ["year", "month", "day", "hour", "minute", "second", "microsecond", "timestamp", "weekday", "isoweekday"];

export const datetimeTags: Record<string, TagSpec> = {
  NOW: { shapes: ["scalar"], input: true, doc: "The current UNIX timestamp (a float).", compile: () => () => clock.now() },
  "DATETIME.PARSE": {
    shapes: ["map"],
    args: ["what", "format", "timezone", "flags"],
    required: ["what", "format"],
    pure: true,
    doc: "strptime → UNIX timestamp (float); None when it does not parse. Naive times are in `timezone` (UTC).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const fmt = formatArg(n, c);
      let parse;
      try {
        parse = strptime(fmt);
      } catch (e) {
        return c.fail(c.argNode(n, "format")!, (e as Error).message, n.tag);
      }
      const zone = zoneArg(n, c);
      const flags = c.literal(n, "flags", "", (v): v is string => typeof v === "string", "a string of flags (Y)");
      const currentYear = flags.includes("Y");
      const isArg = c.isArg(n, "what");
      return (s, e, a) => {
        const v = isArg ? a : what(s, e, a);
        if (typeof v !== "string") return null;
        const r = parse(v, currentYear ? new Date(clock.now() * 1000).getUTCFullYear() : null);
        if (r === null) return null;
        const ms = r.offset !== null ? r.ms - r.offset * 1000 : localToUtc(r.ms, zone);
        return ms / 1000 + r.micro / 1e6;
      };
    },
  },
  "DATETIME.FORMAT": {
    shapes: ["map"],
    args: ["with", "format", "timezone"],
    required: ["format"],
    input: true,
    doc: "strftime of a UNIX timestamp (`with`, default now) in `timezone` (UTC).",
    compile: (n, c) => {
      // BSPump's default is the time the declaration was built [BUG]; here it is the time of the call.
      const wth = c.argNode(n, "with") ? c.arg(n, "with") : () => clock.now();
      let fmt;
      try {
        fmt = strftime(formatArg(n, c));
      } catch (e) {
        return c.fail(c.argNode(n, "format")!, (e as Error).message, n.tag);
      }
      const zone = zoneArg(n, c);
      return (s, e, a) => {
        const v = wth(s, e, a);
        if (typeof v !== "number" || !Number.isFinite(v)) throw c.runtime(n, "'with' must be a UNIX timestamp (a number)");
        return fmt(v, zone);
      };
    },
  },
  "DATETIME.GET": {
    shapes: ["map"],
    args: ["with", "what", "timezone"],
    required: ["with", "what"],
    pure: true,
    doc: `One component of a UNIX timestamp: ${GET.join(", ")}.`,
    compile: (n, c) => {
      const wth = c.arg(n, "with");
      const what = c.literal(n, "what", "", (v): v is string => typeof v === "string" && GET.includes(v), `one of ${GET.join(", ")}`);
      const zone = zoneArg(n, c);
      return (s, e, a) => {
        const v = wth(s, e, a);
        if (typeof v !== "number" || !Number.isFinite(v)) throw c.runtime(n, "'with' must be a UNIX timestamp (a number)");
        if (what === "timestamp") return v;
        const ms = Math.floor(v * 1000);
        const t = new Date(ms + zoneOffset(zone, ms) * 1000);
        switch (what) {
          case "year": return t.getUTCFullYear();
          case "month": return t.getUTCMonth() + 1;
          case "day": return t.getUTCDate();
          case "hour": return t.getUTCHours();
          case "minute": return t.getUTCMinutes();
          case "second": return t.getUTCSeconds();
          case "microsecond": return Math.round((v - Math.floor(v)) * 1e6) % 1000000;
          case "weekday": return (t.getUTCDay() + 6) % 7;
          default: return ((t.getUTCDay() + 6) % 7) + 1;
        }
      };
    },
  },
};
