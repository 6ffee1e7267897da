import { ipv4ToInt, ipv6ToBigInt } from "../../../lookup/ipaddress.js";
import type { Lookup, PumpService } from "../../../core/index.js";
import type { ExprNode, Fn } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { isDict, str, truthy } from "../py.js";
import { TYPED } from "../parse.js";
import { xxh64 } from "../xxhash.js";

const NOT_CAST = Symbol("not cast");

/** Python's int() / float() / … conversions; NOT_CAST where Python raises Value/Type/AttributeError. */
export function cast(v: unknown, type: string): unknown {
  switch (type) {
    case "int": {
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : NOT_CAST;
      if (typeof v === "bigint") return v;
      if (typeof v === "string" && v.length > 0 && v.length < 16 && isDigits(v)) return Number(v);
      if (typeof v === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(v)) {
        const n = Number(v.replace(/_/g, ""));
        return Number.isSafeInteger(n) ? n : BigInt(v.trim().replace(/_/g, ""));
      }
      return NOT_CAST;
    }
    case "float": {
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "number") return v;
      if (typeof v === "bigint") return Number(v);
      if (typeof v === "string") {
        const t = v.trim().toLowerCase().replace(/_/g, "");
        if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
        if (/^[+-]?nan$/.test(t)) return NaN;
        if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
      }
      return NOT_CAST;
    }
    case "str":
      return str(v);
    case "bool":
      return truthy(v);
    case "list":
      if (Array.isArray(v)) return [...v];
      if (typeof v === "string") return [...v];
      if (v instanceof Set) return [...v];
      if (isDict(v)) return Object.keys(v);
      return NOT_CAST;
    case "dict":
      if (isDict(v)) return { ...v };
      if (Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2)) return Object.fromEntries(v.map((p: unknown[]) => [str(p[0]), p[1]]));
      return NOT_CAST;
    default:
      return NOT_CAST;
  }
}

function isDigits(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** BSPump's type names: si8…si256 and ui8…ui256 are ints, fp16…fp128 floats, ui1/si1 bools. */
export function baseType(type: string): string | null {
  if (["int", "float", "str", "bool", "list", "dict"].includes(type)) return type;
  if (type === "ui1" || type === "si1") return "bool";
  if (/^(ui|si)(8|16|32|64|128|256)$/.test(type)) return "int";
  if (/^fp(16|32|64|128)$/.test(type)) return "float";
  return null;
}

function compileCast(n: ExprNode, c: Compiler, type: string, what: Fn): Fn {
  const base = baseType(type);
  if (base === null) return c.fail(n, `unknown type '${type}' (int, float, str, bool, list, dict, si8…si256, ui8…ui256, fp16…fp128, ui1, si1)`);
  const dflt = c.arg(n, "default");
  if (base === "int" && n.shape === "map" && c.isArg(n, "what")) {
    // The parser's common case, `!CAST {what: !ARG, type: int}` on a string of digits.
    return (s, e, a) => {
      if (typeof a === "string" && a.length > 0 && a.length < 16 && isDigits(a)) return Number(a);
      const r = cast(a === undefined ? null : a, "int");
      return r === NOT_CAST ? dflt(s, e, a) : r;
    };
  }
  if (base === "int") {
    return (s, e, a) => {
      const v = what(s, e, a);
      if (typeof v === "string" && v.length > 0 && v.length < 16 && isDigits(v)) return Number(v);
      const r = cast(v, "int");
      return r === NOT_CAST ? dflt(s, e, a) : r;
    };
  }
  return (s, e, a) => {
    const r = cast(what(s, e, a), base);
    return r === NOT_CAST ? dflt(s, e, a) : r;
  };
}

/** `!!ui8 5` → a typed literal; `!!ui8 {what: …}` → a CAST. */
function typed(name: string): TagSpec {
  return {
    shapes: ["scalar", "map"],
    args: ["what", "default"],
    pure: true,
    doc: `A ${baseType(name)} value (BSPump's \`!!${name}\`).`,
    compile: (n, c) => {
      if (n.shape === "map") return compileCast(n, c, name, c.arg(n, "what"));
      const v = cast(n.scalar!, baseType(name)!);
      if (v === NOT_CAST) return c.fail(n, `'${n.scalar}' is not a ${baseType(name)}`, `!${name}`);
      return () => v;
    },
  };
}

/** An address as BSPump's netaddr integer: IPv6 as 128 bits, IPv4 mapped to ::ffff:a.b.c.d. */
export function parseIP(v: unknown): bigint | null {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v) <= 0xffffffffn ? 0xffff00000000n | BigInt(v) : BigInt(v);
  if (typeof v !== "string") return null;
  const v4 = ipv4ToInt(v);
  if (v4 >= 0) return 0xffff00000000n | BigInt(v4);
  const v6 = ipv6ToBigInt(v);
  return v6 < 0n ? null : v6;
}

export function formatIP(ip: bigint, format: string): string {
  if (format !== "ipv6" && ip >> 32n === 0xffffn) {
    const v = Number(ip & 0xffffffffn);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip >> BigInt(i * 16)) & 0xffffn).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

function subnet(text: string): [bigint, bigint] | null {
  const [addr, bits] = text.split("/");
  const ip = parseIP(addr);
  if (ip === null) return null;
  const v4 = ipv4ToInt(addr!) >= 0;
  let prefix = bits === undefined ? 128 : Number(bits) + (v4 ? 96 : 0);
  if (bits !== undefined && (!/^\d+$/.test(bits) || prefix > 128)) return null;
  if (bits === undefined) prefix = 128;
  const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
  return [ip & mask, mask];
}

/**
 * The value of a key in a lookup, or None. BSPump locates the lookup per call, passing the context
 * to the lookup factories (which may pick one by it); with no factory registered the answer can
 * only be the lookup registered under the id, so it is located once, at the first event (lookups
 * may be added after the declaration is compiled), and kept.
 */
function lookupFn(n: ExprNode, c: Compiler): Fn {
  const id = c.literal(n, "in", "", (v): v is string => typeof v === "string" && v.length > 0, "a lookup id");
  if (!id) return c.fail(n, "missing argument 'in'");
  // A list of keys is a compound key (a tuple in BSPump; a list here).
  const key: Fn = c.compile(c.argNode(n, "what")!);
  const app = c.app;
  let service: PumpService | null = null;
  let located: Lookup | null = null;
  return (s, e, a) => {
    let lookup = located;
    if (lookup === null || service!.lookupFactories.length > 0) {
      service ??= app?.pumpServiceOrNull() ?? null;
      if (!service) throw c.runtime(n, "no lookups: the application has no PumpService");
      try {
        lookup = service.locateLookup(id, s.context);
      } catch (err) {
        throw c.runtime(n, (err as Error).message);
      }
      if (service.lookupFactories.length === 0) located = lookup;
    }
    const v = lookup.get(key(s, e, a));
    return v === undefined ? null : v;
  };
}

export const miscTags: Record<string, TagSpec> = {
  CAST: {
    shapes: ["map", "scalar"],
    args: ["what", "type", "default"],
    pure: true,
    doc: "Python's int(), float(), str(), bool(), list(), dict() (and BSPump's si/ui/fp types); `default` when it fails.",
    compile: (n, c) => {
      if (n.shape === "scalar") return compileCast(n, c, n.scalar!.trim(), (_s, _e, a) => a);
      if (!c.argNode(n, "what")) return c.fail(n, "missing argument 'what'");
      const type = c.literal(n, "type", "", (v): v is string => typeof v === "string", "a type name");
      return compileCast(n, c, type, c.arg(n, "what"));
    },
  },
  HASH: {
    shapes: ["map"],
    args: ["what", "seed", "type"],
    required: ["what"],
    pure: true,
    doc: "xxhash64 of a string (an unsigned 64-bit bigint); an integer gives `(value ^ seed) & 0xFFFFFFFFFFFFFFFF`.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const seed = BigInt(c.literal(n, "seed", 0, (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0, "a non-negative integer"));
      c.literal(n, "type", "xxhash64", (v): v is string => v === "xxhash64", "xxhash64");
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v === "string") return xxh64(Buffer.from(v, "utf8"), seed);
        if (typeof v === "number" && Number.isInteger(v)) return (BigInt(v) ^ seed) & 0xffffffffffffffffn;
        if (typeof v === "bigint") return (v ^ seed) & 0xffffffffffffffffn;
        throw c.runtime(n, "hashes a string or an integer");
      };
    },
  },
  "LOOKUP.GET": {
    shapes: ["map"],
    args: ["in", "what"],
    required: ["in", "what"],
    input: true,
    doc: "The value of the key `what` in the lookup `in` (None when missing).",
    compile: (n, c) => {
      return lookupFn(n, c);
    },
  },
  "LOOKUP.CONTAINS": {
    shapes: ["map"],
    args: ["in", "what"],
    required: ["in", "what"],
    input: true,
    doc: "True when the lookup `in` has a value for `what`.",
    compile: (n, c) => {
      const get = lookupFn(n, c);
      return (s, e, a) => get(s, e, a) != null;
    },
  },
  "IP.PARSE": {
    shapes: ["scalar", "map"],
    args: ["value", "what"],
    pure: true,
    doc: "An address as a 128-bit integer (bigint; IPv4 mapped to ::ffff:a.b.c.d); None when it does not parse.",
    compile: (n, c) => {
      if (n.shape === "scalar") {
        const v = parseIP(n.scalar!.trim());
        return n.scalar!.trim() === "" ? (_s, _e, a) => parseIP(a) : () => v;
      }
      const what = c.arg(n, c.argNode(n, "value") ? "value" : "what");
      return (s, e, a) => parseIP(what(s, e, a));
    },
  },
  "IP.FORMAT": {
    shapes: ["map"],
    args: ["what", "format"],
    required: ["what"],
    pure: true,
    doc: "An address (integer or text) as text; `auto` prints mapped IPv4 addresses as IPv4.",
    compile: (n, c) => {
      // BSPump's constructor raises TypeError (frozenset with three arguments) [BUG]; here it works.
      const what = c.arg(n, "what");
      const format = c.literal(n, "format", "auto", (v): v is string => v === "auto" || v === "ipv4" || v === "ipv6", "auto, ipv4 or ipv6");
      return (s, e, a) => {
        const ip = parseIP(what(s, e, a));
        return ip === null ? null : formatIP(ip, format);
      };
    },
  },
  "IP.INSUBNET": {
    shapes: ["map"],
    args: ["what", "subnet"],
    required: ["what", "subnet"],
    pure: true,
    doc: "True when the address is in the subnet (or one of a list); None when the address does not parse.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const node = c.argNode(n, "subnet")!;
      const texts = node.kind === "value" ? [node.value] : node.kind === "list" && node.items.every((i) => i.kind === "value") ? node.items.map((i) => (i as { value: unknown }).value) : null;
      if (texts === null) return c.fail(node, "'subnet' must be a literal CIDR or a list of them", n.tag);
      const nets = texts.map((t) => {
        const net = typeof t === "string" ? subnet(t) : null;
        if (net === null) return c.fail(node, `'${String(t)}' is not a subnet`, n.tag);
        return net;
      });
      return (s, e, a) => {
        const ip = parseIP(what(s, e, a));
        if (ip === null) return null;
        for (const [net, mask] of nets) if ((ip & mask) === net) return true;
        return false;
      };
    },
  },
};

for (const t of ["ui1", "si1", "ui8", "ui16", "ui32", "ui64", "ui128", "ui256", "si8", "si16", "si32", "si64", "si128", "si256", "fp16", "fp32", "fp64", "fp128"]) {
  if (TYPED.test(t)) miscTags[`!${t}`] = typed(t);
}
