import type { ExprNode, Fn, Node, Scope } from "../ast.js";
import { nonNullSetter, type Setter } from "../codegen.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { add, isDict, PyTypeError, truthy } from "../py.js";

interface Keyed {
  keys: string[];
  fns: Fn[];
  /** Writes the non-None values (generated code: see codegen.ts). */
  setter: Setter;
}

function keyed(n: ExprNode, c: Compiler, name: string): Keyed | null {
  const node = c.argNode(n, name);
  if (node === undefined) return null;
  if (node.kind !== "map") return c.fail(node, `'${name}' must be a mapping of keys to values`, n.tag);
  const keys = node.entries.map((e) => String(e.key));
  return { keys, fns: node.entries.map((e) => c.compile(e.value)), setter: nonNullSetter(keys) };
}

function keyList(n: ExprNode, c: Compiler, name: string): string[] | null {
  const node: Node | undefined = c.argNode(n, name);
  if (node === undefined) return null;
  if (node.kind === "value" && node.value !== null) return [String(node.value)];
  if (node.kind !== "list" || !node.items.every((i) => i.kind === "value")) return c.fail(node, `'${name}' must be a list of keys`, n.tag);
  return node.items.map((i) => String((i as { value: unknown }).value));
}

/** The set → update → unset steps DICT, DICT.PARSE and REGEX.PARSE share, ARG being the dict built so far. */
export function finisher(n: ExprNode, c: Compiler): (s: Scope, e: unknown, d: Record<string, unknown>) => void {
  const set = keyed(n, c, "set");
  const updateNode = c.argNode(n, "update");
  const update = updateNode === undefined ? null : c.compile(updateNode);
  const unset = keyList(n, c, "unset");
  return (s, e, d) => {
    if (set) set.setter(d, set.fns, s, e, d);
    if (update) {
      const u = update(s, e, d);
      if (u != null && u !== false) {
        if (!isDict(u)) throw c.runtime(n, "'update' must give a dict");
        Object.assign(d, u);
      }
    }
    if (unset) for (const k of unset) delete d[k];
  };
}

function compileDict(n: ExprNode, c: Compiler): Fn {
  const withNode = c.argNode(n, "with");
  const wth = withNode === undefined ? null : c.compile(withNode);
  const set = keyed(n, c, "set");
  const flatten = keyed(n, c, "flatten");
  const modify = keyed(n, c, "modify");
  const addK = keyed(n, c, "add");
  const updateNode = c.argNode(n, "update");
  const update = updateNode === undefined ? null : c.compile(updateNode);
  const unset = keyList(n, c, "unset");
  const mandatory = keyList(n, c, "mandatory");
  return (s, e, a) => {
    let d: Record<string, unknown>;
    if (wth) {
      const w = wth(s, e, a);
      if (w == null) return null;
      if (!isDict(w)) throw c.runtime(n, "'with' must give a dict");
      d = w;
    } else d = {};
    if (set) set.setter(d, set.fns, s, e, a);
    if (flatten) for (let i = 0; i < flatten.keys.length; i++) {
      const list = flatten.fns[i]!(s, e, a);
      if (!Array.isArray(list)) continue;
      for (const item of list) if (isDict(item) && item["Name"] != null) d[`${flatten.keys[i]}.${String(item["Name"])}`] = item["Value"];
    }
    if (modify) for (let i = 0; i < modify.keys.length; i++) {
      const k = modify.keys[i]!;
      const old = Object.hasOwn(d, k) ? d[k] : null;
      delete d[k];
      const v = modify.fns[i]!(s, e, old);
      if (v != null) d[k] = v;
    }
    if (addK) for (let i = 0; i < addK.keys.length; i++) {
      const k = addK.keys[i]!;
      if (!Object.hasOwn(d, k)) continue;
      try {
        d[k] = add(d[k], addK.fns[i]!(s, e, a));
      } catch (err) {
        if (err instanceof PyTypeError) throw c.runtime(n, err.message);
        throw err;
      }
    }
    if (update) {
      const u = update(s, e, d);
      if (u != null && u !== false) {
        if (!isDict(u)) throw c.runtime(n, "'update' must give a dict");
        Object.assign(d, u);
      }
    }
    if (unset) for (const k of unset) delete d[k];
    if (mandatory) for (const k of mandatory) {
      if (!Object.hasOwn(d, k)) {
        c.warn(`${n.loc.source}:${n.loc.line}: !DICT: mandatory key '${k}' is missing`);
        return null;
      }
    }
    return d;
  };
}

// BSPump's patterns: `k=v` separated by spaces, a value running to the next ` key=`.
const KVS = /\b(\w+)=(.*?)(?=\s\w+=\s*|$)/g;
const KVDQS = /\b(\w+)="(.*?)(?="\s\w+=\s*|"$)/g;

export function parseKV(text: string, type: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (type === "qs") {
    for (const part of text.split(/[&;]/)) {
      if (!part) continue;
      const eqAt = part.indexOf("=");
      if (eqAt < 0) continue; // Python's parse_qs drops keys without a value
      const k = decode(part.slice(0, eqAt));
      const v = decode(part.slice(eqAt + 1));
      if (v === "") continue;
      out[k] = v;
    }
    return out;
  }
  const re = type === "kvdqs" ? KVDQS : KVS;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out[m[1]!] = m[2]!;
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s.replace(/\+/g, " ");
  }
}

export const dictTags: Record<string, TagSpec> = {
  DICT: {
    shapes: ["map"],
    args: ["with", "set", "flatten", "modify", "add", "update", "unset", "mandatory"],
    pure: true,
    doc: "Builds or changes a dict: with → set → flatten → modify → add → update → unset → mandatory.",
    compile: compileDict,
  },
  "DICT.PARSE": {
    shapes: ["map"],
    args: ["what", "type", "set", "unset", "update"],
    required: ["what"],
    pure: true,
    doc: "Parses `k=v` pairs (`kvs`), double-quoted pairs (`kvdqs`) or a URL query string (`qs`) into a dict.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const type = c.literal(n, "type", "kvs", (v): v is string => v === "kvs" || v === "kvdqs" || v === "qs", "one of kvs, kvdqs, qs");
      const finish = finisher(n, c);
      return (s, e, a) => {
        const text = what(s, e, a);
        if (typeof text !== "string") return null;
        const d = parseKV(text, type);
        finish(s, e, d);
        return d;
      };
    },
  },
  KVLIST: {
    shapes: ["map"],
    args: ["what", "type"],
    required: ["what"],
    pure: true,
    doc: "The `k=v` pairs of a string as a list of [key, value] pairs (keeps repeated keys).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const type = c.literal(n, "type", "kvs", (v): v is string => v === "kvs" || v === "kvdqs", "kvs or kvdqs");
      const re = type === "kvdqs" ? KVDQS : KVS;
      return (s, e, a) => {
        const text = what(s, e, a);
        if (typeof text !== "string") return null;
        const out: [string, string][] = [];
        const r = new RegExp(re.source, "g");
        for (let m = r.exec(text); m !== null; m = r.exec(text)) {
          out.push([m[1]!, m[2]!]);
          if (m[0].length === 0) r.lastIndex++;
        }
        return out;
      };
    },
  },
};

export { truthy };
