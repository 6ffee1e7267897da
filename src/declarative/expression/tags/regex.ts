import type { ExprNode, Fn } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { groupWriter, type GroupItem } from "../codegen.js";
import { finisher } from "./dict.js";

/**
 * A Python `re` pattern as a JavaScript RegExp: `(?P<n>…)` → `(?<n>…)`, `(?P=n)` → `\k<n>`,
 * leading inline flags `(?ims)` → flags, `\A`/`\Z` → anchors. Throws with the reason.
 */
export function pyRegex(pattern: string, global = false): RegExp {
  let flags = global ? "g" : "";
  let p = pattern;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(p);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === "i" || f === "m" || f === "s") flags += flags.includes(f) ? "" : f;
      else if (f === "x") throw new Error("verbose patterns ((?x)) are not supported");
    }
    p = p.slice(inline[0].length);
  }
  p = p.replace(/\(\?P<(\w+)>/g, "(?<$1>").replace(/\(\?P=(\w+)\)/g, "\\k<$1>").replace(/\\A/g, "^").replace(/\\Z/g, "$(?![\\s\\S])");
  return new RegExp(p, flags);
}

/** Python's replacement template (`\1`, `\g<1>`, `\g<name>`) as a JavaScript one. */
export function pyReplacement(template: string): string {
  return template.replace(/\$/g, "$$$$").replace(/\\g<(\w+)>|\\(\d{1,2})|\\(.)/g, (_m, g: string | undefined, d: string | undefined, other: string | undefined) => {
    if (g !== undefined) return /^\d+$/.test(g) ? `$${g}` : `$<${g}>`;
    if (d !== undefined) return `$${d}`;
    return other === "n" ? "\n" : other === "t" ? "\t" : other === "\\" ? "\\" : `\\${other}`;
  });
}

function regexArg(n: ExprNode, c: Compiler, global = false): RegExp {
  const node = c.argNode(n, "regex");
  if (!node || node.kind !== "value" || typeof node.value !== "string") return c.fail(node ?? n, "'regex' must be a literal string", n.tag);
  try {
    return pyRegex(node.value, global);
  } catch (e) {
    return c.fail(node, `invalid regex: ${(e as Error).message}`, n.tag);
  }
}

function compileParse(n: ExprNode, c: Compiler): Fn {
  const what = c.arg(n, "what");
  const re = regexArg(n, c);
  const miss = c.arg(n, "miss");
  const itemsNode = c.argNode(n, "items");
  const finish = finisher(n, c);
  if (itemsNode === undefined) {
    return (s, e, a) => {
      const v = what(s, e, a);
      const m = typeof v === "string" ? re.exec(v) : null;
      return m === null ? miss(s, e, a) : m.slice(1).map((g) => g ?? null);
    };
  }
  if (itemsNode.kind !== "list") return c.fail(itemsNode, "'items' must be a list", n.tag);
  const fns: Fn[] = [];
  const items: GroupItem[] = itemsNode.items.map((i): GroupItem => {
    if (i.kind === "value" && typeof i.value === "string") return { kind: "name", key: i.value };
    if (i.kind === "map" && i.entries.length === 1) {
      const entry = i.entries[0]!;
      const list = entry.value.kind === "list" ? entry.value.items : [entry.value];
      for (const x of list) fns.push(c.compile(x));
      return { kind: "expr", key: String(entry.key), count: list.length };
    }
    if (i.kind === "expr") {
      fns.push(c.compile(i));
      return { kind: "keyexpr" };
    }
    return c.fail(i, "an item is a key, `{key: expression}`, `{key: [expressions]}` or an expression giving the key", n.tag);
  });
  const write = groupWriter(items);
  const onEvent = c.isEvent(n, "what");
  return (s, e, a) => {
    const v = onEvent ? e : what(s, e, a);
    const m = typeof v === "string" ? re.exec(v) : null;
    if (m === null) return miss(s, e, a);
    const d = write(m, fns, s, e);
    if (d === null) return miss(s, e, a);
    finish(s, e, d);
    return d;
  };
}

export const regexTags: Record<string, TagSpec> = {
  REGEX: {
    shapes: ["map"],
    args: ["what", "regex", "hit", "miss"],
    required: ["what", "regex"],
    pure: true,
    doc: "`hit` (True) when `regex` matches anywhere in `what`, else `miss` (False).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const re = regexArg(n, c);
      const hit = c.arg(n, "hit", true);
      const miss = c.arg(n, "miss", false);
      return (s, e, a) => {
        const v = what(s, e, a);
        return typeof v === "string" && re.test(v) ? hit(s, e, a) : miss(s, e, a);
      };
    },
  },
  "REGEX.PARSE": {
    shapes: ["map"],
    args: ["what", "regex", "items", "miss", "set", "unset", "update"],
    required: ["what", "regex"],
    pure: true,
    doc: "The groups of a regex search, as a list or (with `items`) a dict; `miss` (None) when it does not match.",
    compile: compileParse,
  },
  "REGEX.REPLACE": {
    shapes: ["map"],
    args: ["what", "regex", "replace"],
    required: ["what", "regex", "replace"],
    pure: true,
    doc: "Replaces every match of `regex` by `replace` (Python's `\\1` / `\\g<name>` templates).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const re = regexArg(n, c, true);
      const replNode = c.argNode(n, "replace")!;
      const literal = replNode.kind === "value" && typeof replNode.value === "string" ? pyReplacement(replNode.value) : null;
      const repl = c.compile(replNode);
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return null;
        const r = literal ?? repl(s, e, a);
        if (typeof r !== "string") throw c.runtime(n, "'replace' must be a string");
        return v.replace(re, literal === null ? pyReplacement(r) : r);
      };
    },
  },
  "REGEX.SPLIT": {
    shapes: ["map"],
    args: ["what", "regex", "max"],
    required: ["what", "regex"],
    pure: true,
    doc: "`re.split`: the pieces between matches (and the groups), at most `max` splits (0: all).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const re = regexArg(n, c, true);
      const max = c.literal(n, "max", 0, (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0, "a non-negative integer");
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return null;
        const out: (string | null)[] = [];
        let from = 0;
        let splits = 0;
        re.lastIndex = 0;
        for (let m = re.exec(v); m !== null && (max === 0 || splits < max); m = re.exec(v)) {
          if (m[0].length === 0) {
            if (m.index >= v.length) break;
            re.lastIndex++;
            if (m.index === 0 && from === 0) continue;
          }
          out.push(v.slice(from, m.index), ...m.slice(1).map((g) => g ?? null));
          from = m.index + m[0].length;
          splits++;
        }
        out.push(v.slice(from));
        return out;
      };
    },
  },
  "REGEX.FINDALL": {
    shapes: ["map"],
    args: ["what", "regex"],
    required: ["what", "regex"],
    pure: true,
    doc: "`re.findall`: every match (or its group, or a tuple of its groups).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const re = regexArg(n, c, true);
      return (s, e, a) => {
        const v = what(s, e, a);
        if (typeof v !== "string") return null;
        const out: unknown[] = [];
        for (const m of v.matchAll(re)) {
          out.push(m.length === 1 ? m[0] : m.length === 2 ? (m[1] ?? "") : m.slice(1).map((g) => g ?? ""));
        }
        return out;
      };
    },
  },
};
