import type { Fn, Scope } from "./ast.js";

/**
 * Small pieces of generated JavaScript for the per-event hot spots where closures alone are slow:
 * writing a dict's known keys. A closure loop `d[keys[i]] = v` is one keyed store site seeing
 * every key (megamorphic, ~50 ns a store); generated code has one named store and one call site
 * per key, which V8 keeps monomorphic and inlines. Keys are embedded as JSON string literals, so
 * no declaration text becomes code. `__proto__` (which would set the prototype) falls back to
 * the generic loop.
 */

export type Setter = (d: Record<string, unknown>, fns: readonly Fn[], s: Scope, e: unknown, a: unknown) => void;

const generic = (keys: readonly string[]): Setter => (d, fns, s, e, a) => {
  for (let i = 0; i < keys.length; i++) {
    const v = fns[i]!(s, e, a);
    if (v != null) Object.defineProperty(d, keys[i]!, { value: v, writable: true, enumerable: true, configurable: true });
  }
};

/** `d[key_i] = fns[i](s, e, a)` for each key whose value is not None. */
export function nonNullSetter(keys: readonly string[]): Setter {
  if (keys.includes("__proto__")) return generic(keys);
  const body = keys.map((k, i) => `v = f[${i}](s, e, a);\nif (v !== null && v !== undefined) d[${JSON.stringify(k)}] = v;`).join("\n");
  return new Function("d", "f", "s", "e", "a", `"use strict";\nlet v;\n${body}`) as Setter;
}

/** How REGEX.PARSE stores group i: under a name, through transforms (first non-None), or under a computed key. */
export type GroupItem = { kind: "name"; key: string } | { kind: "expr"; key: string; count: number } | { kind: "keyexpr" };

export type GroupWriter = (m: RegExpExecArray, fns: readonly Fn[], s: Scope, e: unknown) => Record<string, unknown> | null;

/**
 * Builds REGEX.PARSE's dict from a match: one straight-line block per item. `fns` holds the
 * transforms of the items in order. Returns null when a computed key is None (the caller returns
 * `miss`).
 */
export function groupWriter(items: readonly GroupItem[]): GroupWriter {
  if (items.some((i) => i.kind !== "keyexpr" && i.key === "__proto__")) return genericGroups(items);
  let f = 0;
  const blocks = items.map((item, i) => {
    const g = `g = m.length > ${i + 1} ? m[${i + 1}] : undefined; if (g === undefined) g = null;`;
    if (item.kind === "name") return `${g}\nif (m.length > ${i + 1}) d[${JSON.stringify(item.key)}] = g;`;
    if (item.kind === "keyexpr") return `${g}\nif (m.length > ${i + 1}) { k = f[${f++}](s, e, g); if (k === null || k === undefined) return null; d[String(k)] = g; }`;
    const tries: string[] = [];
    for (let t = 0; t < item.count; t++) tries.push(`r = f[${f++}](s, e, g); if (r !== null && r !== undefined) { d[${JSON.stringify(item.key)}] = r; break; }`);
    return `${g}\nif (g !== null) do { ${tries.join(" ")} } while (false);`;
  });
  return new Function("m", "f", "s", "e", `"use strict";\nconst d = {};\nlet g, r, k;\n${blocks.join("\n")}\nreturn d;`) as GroupWriter;
}

function genericGroups(items: readonly GroupItem[]): GroupWriter {
  return (m, fns, s, e) => {
    const d: Record<string, unknown> = {};
    const put = (k: string, v: unknown): void => void Object.defineProperty(d, k, { value: v, writable: true, enumerable: true, configurable: true });
    let f = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const present = m.length > i + 1;
      const group = present && m[i + 1] !== undefined ? m[i + 1]! : null;
      if (item.kind === "name") {
        if (present) put(item.key, group);
      } else if (item.kind === "keyexpr") {
        const fn = fns[f++]!;
        if (!present) continue;
        const k = fn(s, e, group);
        if (k == null) return null;
        put(String(k), group);
      } else {
        const start = f;
        f += item.count;
        if (group === null) continue;
        for (let t = start; t < start + item.count; t++) {
          const r = fns[t]!(s, e, group);
          if (r != null) {
            put(item.key, r);
            break;
          }
        }
      }
    }
    return d;
  };
}

/**
 * `!ITEM EVENT key` (or ARG, KWARGS) with a literal key: a function of its own per key, so that
 * its property load stays monomorphic (closures made by one literal share their IC feedback, and
 * ITEM is the most used tag). `slow` handles what is not a plain dict.
 */
export function itemGetter(base: "EVENT" | "ARG" | "KWARGS", key: string, dflt: Fn | null, slow: (obj: unknown, s: Scope, e: unknown, a: unknown) => unknown): Fn {
  if (key === "__proto__") return (s, e, a) => slow(base === "EVENT" ? e : base === "ARG" ? a : s.kwargs, s, e, a);
  const obj = base === "EVENT" ? "e" : base === "ARG" ? "a" : "s.kwargs";
  const k = JSON.stringify(key);
  const miss = dflt === null ? "null" : "d(s, e, a)";
  return new Function(
    "d",
    "slow",
    `"use strict";
return function item(s, e, a) {
  const o = ${obj};
  if (typeof o === "object" && o !== null && !Array.isArray(o) && !(o instanceof Map) && !(o instanceof Uint8Array) && !(o instanceof Set)) {
    const v = o[${k}];
    if (v !== undefined) return v;
    return Object.hasOwn(o, ${k}) ? v : ${miss};
  }
  return slow(o, s, e, a);
};`,
  )(dflt, slow) as Fn;
}
