import type { ExprNode, Fn } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { str } from "../py.js";

/** Python's `s.split(sep, maxsplit)`: the rest stays in the last piece; no `sep` splits on whitespace runs. */
export function pySplit(s: string, sep: string | null, maxsplit = -1): string[] {
  if (sep === null) {
    const parts: string[] = [];
    let rest = s.trimStart();
    while (rest.length > 0) {
      if (maxsplit >= 0 && parts.length === maxsplit) {
        parts.push(rest);
        break;
      }
      const m = /\s+/.exec(rest);
      if (!m) {
        parts.push(rest);
        break;
      }
      parts.push(rest.slice(0, m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    return parts;
  }
  if (sep === "") throw new Error("empty separator");
  if (maxsplit < 0) return s.split(sep);
  const parts: string[] = [];
  let from = 0;
  while (parts.length < maxsplit) {
    const at = s.indexOf(sep, from);
    if (at < 0) break;
    parts.push(s.slice(from, at));
    from = at + sep.length;
  }
  parts.push(s.slice(from));
  return parts;
}

/** Python's slice `s[from:to]` (negative indices from the end). */
export function pySlice(s: string, from: number | null, to: number | null): string {
  const n = s.length;
  const norm = (i: number | null, d: number): number => (i === null ? d : i < 0 ? Math.max(0, n + i) : Math.min(i, n));
  const a = norm(from, 0);
  const b = norm(to, n);
  return b > a ? s.slice(a, b) : "";
}

function test(name: string, argName: string, op: (v: string, x: string) => boolean, doc: string): TagSpec {
  return {
    shapes: ["map"],
    args: ["what", argName],
    required: ["what", argName],
    pure: true,
    doc,
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const x = c.arg(n, argName);
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return false;
        const y = x(s, e, a);
        if (typeof y !== "string") throw c.runtime(n, `'${argName}' must be a string`);
        return op(v, y);
      };
    },
  };
}

function caseTag(f: (s: string) => string, doc: string): TagSpec {
  return {
    shapes: ["map"],
    args: ["what"],
    required: ["what"],
    pure: true,
    doc,
    compile: (n, c) => {
      const what = c.arg(n, "what");
      return (s, e, a) => {
        const v = what(s, e, a);
        return typeof v === "string" ? f(v) : null;
      };
    },
  };
}

const int = (n: ExprNode, c: Compiler, name: string, v: unknown): number | null => {
  if (v == null) return null;
  if (typeof v !== "number" || !Number.isInteger(v)) throw c.runtime(n, `'${name}' must be an integer`);
  return v;
};

export const stringTags: Record<string, TagSpec> = {
  STARTSWITH: test("STARTSWITH", "prefix", (v, x) => v.startsWith(x), "True when `what` starts with `prefix` (False for None)."),
  ENDSWITH: test("ENDSWITH", "postfix", (v, x) => v.endsWith(x), "True when `what` ends with `postfix` (False for None)."),
  CONTAINS: test("CONTAINS", "substring", (v, x) => v.includes(x), "True when `what` contains `substring` (False for None)."),
  LOWER: caseTag((s) => s.toLowerCase(), "Lower case; None for a non-string."),
  UPPER: caseTag((s) => s.toUpperCase(), "Upper case; None for a non-string."),
  SUBSTRING: {
    shapes: ["map"],
    args: ["what", "from", "to"],
    required: ["what"],
    pure: true,
    doc: "`what[from:to]`; `to` defaults to -1 as in BSPump (drops the last character).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const from = c.arg(n, "from", 0);
      const to = c.arg(n, "to", -1);
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return null;
        return pySlice(v, int(n, c, "from", from(s, e, a)), int(n, c, "to", to(s, e, a)));
      };
    },
  },
  CUT: {
    shapes: ["map"],
    args: ["what", "delimiter", "field"],
    required: ["what", "delimiter", "field"],
    pure: true,
    doc: "`what.split(delimiter, field + 1)[field]`.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const delim = c.arg(n, "delimiter");
      const field = c.arg(n, "field");
      return (s, e, a) => {
        const v = what(s, e, a);
        const d = delim(s, e, a);
        const f = field(s, e, a);
        if (typeof v !== "string" || typeof d !== "string" || d === "" || typeof f !== "number" || !Number.isInteger(f)) throw c.runtime(n, "needs a string, a non-empty delimiter and an integer field");
        const parts = pySplit(v, d, f + 1);
        const i = f < 0 ? parts.length + f : f;
        if (i < 0 || i >= parts.length) throw c.runtime(n, `field ${f} out of range (${parts.length} fields)`);
        return parts[i];
      };
    },
  },
  SPLIT: {
    shapes: ["map"],
    args: ["value", "what", "separator", "max"],
    pure: true,
    doc: "`value.split(separator, max)`; None for a non-string. (BSPump names the input `value`; `what` works too.)",
    compile: (n, c) => {
      if (!c.argNode(n, "value") && !c.argNode(n, "what")) return c.fail(n, "missing argument 'value'");
      const what = c.arg(n, c.argNode(n, "value") ? "value" : "what");
      const sep = c.arg(n, "separator");
      const max = c.arg(n, "max", -1);
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return null;
        const sp = sep(s, e, a);
        if (sp === "") throw c.runtime(n, "empty separator");
        return pySplit(v, sp == null ? null : str(sp), int(n, c, "max", max(s, e, a)) ?? -1);
      };
    },
  },
  JOIN: {
    shapes: ["map"],
    args: ["items", "delimiter", "miss"],
    required: ["items"],
    pure: true,
    doc: "Joins the items with `delimiter` (a space); a None item becomes `miss` (\"\"), and when `miss` is None the result is None.",
    compile: (n, c) => {
      const itemsNode = c.argNode(n, "items")!;
      const items: Fn[] | Fn = itemsNode.kind === "list" ? itemsNode.items.map((i) => c.compile(i)) : c.compile(itemsNode);
      const delim = c.arg(n, "delimiter", " ");
      const miss = c.arg(n, "miss", "");
      return (s, e, a) => {
        const values = Array.isArray(items) ? items.map((f) => f(s, e, a)) : items(s, e, a);
        if (!Array.isArray(values)) throw c.runtime(n, "'items' must be a list");
        const d = str(delim(s, e, a));
        let out = "";
        for (let i = 0; i < values.length; i++) {
          let v = values[i];
          if (v == null) {
            v = miss(s, e, a);
            if (v == null) return null;
          }
          out += (i > 0 ? d : "") + str(v);
        }
        return out;
      };
    },
  },
};
