import type { ExprNode, Fn, Node } from "../ast.js";
import { itemGetter } from "../codegen.js";
import { isString, type Compiler, type TagSpec } from "../compiler.js";
import { isDict, PyTypeError, typeName } from "../py.js";

/** `with[item]` with Python's subscription: dict key, list or string index (negative from the end). */
export function subscript(wth: unknown, item: unknown): unknown {
  if (Array.isArray(wth) || typeof wth === "string") {
    if (typeof item !== "number" || !Number.isInteger(item)) {
      if (typeof item === "string" && /^-?\d+$/.test(item)) return subscript(wth, Number(item));
      throw new PyTypeError(`${typeName(wth)} indices must be integers, not ${typeName(item)}`);
    }
    const i = item < 0 ? wth.length + item : item;
    return i >= 0 && i < wth.length ? wth[i] : undefined;
  }
  if (wth instanceof Map) return wth.get(item);
  if (isDict(wth)) {
    const key = typeof item === "string" ? item : String(item);
    return Object.hasOwn(wth, key) ? wth[key] : undefined;
  }
  throw new PyTypeError(`'${typeName(wth)}' object is not subscriptable`);
}

/** A dotted context key walks nested dicts and lists (`brain.idea`, `items.0.name`). */
function nested(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) {
    if (Array.isArray(value)) {
      const i = Number(key);
      if (!Number.isInteger(i)) return undefined;
      value = value[i < 0 ? value.length + i : i];
    } else if (isDict(value) && Object.hasOwn(value, key)) value = value[key];
    else return undefined;
  }
  return value;
}

const WITH = ["EVENT", "CONTEXT", "KWARGS", "ARG"];

function compileItem(node: ExprNode, c: Compiler): Fn {
  let wth: Node | string;
  let item: Node;
  let dflt: Fn | null = null;
  if (node.shape === "scalar") {
    const text = node.scalar!;
    const space = text.indexOf(" ");
    const w = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    if (!WITH.includes(w) || space < 0) return c.fail(node, `expected 'EVENT key', 'CONTEXT key', 'KWARGS key' or 'ARG key', got '${text}'`);
    wth = w;
    item = { kind: "value", value: text.slice(space + 1), loc: node.loc };
  } else {
    const w = c.argNode(node, "with");
    const i = c.argNode(node, "item");
    if (!w || !i) return c.fail(node, `missing argument '${w ? "item" : "with"}'`);
    wth = w;
    item = i;
    const d = c.argNode(node, "default");
    if (d) dflt = c.compile(d);
  }
  // A literal key on the event (or ARG, KWARGS) is the common case: one property read, no subscript().
  const base = typeof wth === "string" ? wth : wth.kind === "expr" && wth.shape === "scalar" ? wth.tag : null;
  if (item.kind === "value" && typeof item.value === "string" && (base === "EVENT" || base === "ARG" || base === "KWARGS")) {
    const key = item.value;
    const d = dflt;
    return itemGetter(base, key, d, (obj, s, e, a) => {
      let v;
      try {
        v = subscript(obj === undefined ? null : obj, key);
      } catch (err) {
        if (err instanceof PyTypeError) throw c.runtime(node, err.message);
        throw err;
      }
      return v !== undefined ? v : d === null ? null : d(s, e, a);
    });
  }
  if (item.kind === "value" && typeof item.value === "string" && (wth === "CONTEXT" || (typeof wth === "object" && wth.kind === "expr" && wth.tag === "CONTEXT"))) {
    const key = item.value;
    const path = key.split(".");
    const d = dflt;
    // BSPump resolves a dotted key as a nested walk only after optimization; here both forms do
    // (a flat key of that name first), so the optimizer cannot change the result.
    return (s, e, a) => {
      const ctx = s.context as Record<string, unknown>;
      let v = Object.hasOwn(ctx, key) ? ctx[key] : undefined;
      if (v === undefined && path.length > 1) v = nested(ctx, path);
      return v !== undefined ? v : d === null ? null : d(s, e, a);
    };
  }
  const w: Fn =
    wth === "EVENT" ? (_s, e) => e
    : wth === "CONTEXT" ? (s) => s.context
    : wth === "KWARGS" ? (s) => s.kwargs
    : wth === "ARG" ? (_s, _e, a) => a
    : typeof wth === "string" ? (_s, e) => e : c.compile(wth);
  const it = c.compile(item);
  const d = dflt;
  return (s, e, a) => {
    let v;
    try {
      v = subscript(w(s, e, a), it(s, e, a));
    } catch (err) {
      if (err instanceof PyTypeError) throw c.runtime(node, err.message);
      throw err;
    }
    return v !== undefined ? v : d === null ? null : d(s, e, a);
  };
}

const fromArgs = (node: ExprNode, c: Compiler): Fn[] => c.items(node);

export const valueTags: Record<string, TagSpec> = {
  VALUE: { shapes: ["scalar"], pure: true, doc: "A literal.", compile: (n) => { const v = n.scalar; return () => v; } },
  EVENT: { shapes: ["scalar"], input: true, doc: "The event.", compile: () => (_s, e) => e },
  CONTEXT: { shapes: ["scalar"], input: true, doc: "The context dict.", compile: () => (s) => s.context },
  KWARGS: { shapes: ["scalar"], input: true, doc: "The keyword arguments.", compile: () => (s) => s.kwargs },
  ARG: { shapes: ["scalar"], input: true, doc: "The first extra positional argument (the input of a transform).", compile: () => (_s, _e, a) => (a === undefined ? null : a) },
  ARGS: { shapes: ["scalar"], input: true, doc: "The extra positional arguments, as a list.", compile: () => (_s, _e, a) => (a === undefined ? [] : [a]) },
  KWARG: {
    shapes: ["scalar"],
    input: true,
    doc: "One keyword argument.",
    compile: (n, c) => {
      const name = n.scalar!.trim();
      if (!name) return c.fail(n, "expected a keyword argument name");
      return (s) => {
        const v = s.kwargs[name];
        return v === undefined ? null : v;
      };
    },
  },
  ITEM: { shapes: ["scalar", "map"], args: ["with", "item", "default"], input: true, doc: "`with[item]`, or `default` when missing.", compile: compileItem },
  TUPLE: { shapes: ["seq"], pure: true, doc: "A tuple (a list in JavaScript) of the items.", compile: (n, c) => list(fromArgs(n, c)) },
  SET: { shapes: ["seq"], pure: true, doc: "A set of the items.", compile: (n, c) => { const l = list(fromArgs(n, c)); return (s, e, a) => new Set(l(s, e, a) as unknown[]); } },
  LIST: {
    shapes: ["map", "seq"],
    args: ["with", "append"],
    pure: true,
    doc: "`with` when it is a list (else []), then each `append` item appended.",
    compile: (n, c) => {
      if (n.shape === "seq") return list(fromArgs(n, c));
      const wth = c.arg(n, "with");
      const appendNode = c.argNode(n, "append");
      const append = appendNode === undefined ? [] : appendNode.kind === "list" ? appendNode.items.map((i) => c.compile(i)) : [c.compile(appendNode)];
      return (s, e, a) => {
        const w = wth(s, e, a);
        const out = Array.isArray(w) ? w : [];
        for (const f of append) out.push(f(s, e, a));
        return out;
      };
    },
  },
  "CONTEXT.SET": {
    shapes: ["map"],
    args: ["set", "what"],
    required: ["set"],
    doc: "Writes each non-None `set` value into the context; returns `what` (or None).",
    compile: (n, c) => {
      const setNode = c.argNode(n, "set")!;
      if (setNode.kind !== "map") return c.fail(setNode, "'set' must be a mapping of context keys to values", n.tag);
      const keys = setNode.entries.map((e) => String(e.key));
      const fns = setNode.entries.map((e) => c.compile(e.value));
      const what = c.arg(n, "what");
      return (s, e, a) => {
        const ctx = s.context as Record<string, unknown>;
        for (let i = 0; i < keys.length; i++) {
          const v = fns[i]!(s, e, a);
          if (v != null) ctx[keys[i]!] = v;
        }
        return what(s, e, a);
      };
    },
  },
};

export function list(fns: Fn[]): Fn {
  return (s, e, a) => {
    const out = new Array<unknown>(fns.length);
    for (let i = 0; i < fns.length; i++) out[i] = fns[i]!(s, e, a);
    return out;
  };
}

export { isString };
