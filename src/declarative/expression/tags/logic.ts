import type { ExprNode, Fn } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { add, compare, contains, div, eq, floordiv, hashKey, mod, mul, pow, PyTypeError, sub, truthy, ZeroDivisionError } from "../py.js";

type Binary = (a: unknown, b: unknown) => unknown;

/** Evaluates all items, then folds left (BSPump's `reduce`). */
function fold(op: Binary, name: string): TagSpec {
  return {
    shapes: ["seq"],
    pure: true,
    doc: `Folds the items left with ${name}.`,
    compile: (n: ExprNode, c: Compiler): Fn => {
      const fns = c.items(n, 1);
      const wrap = (e: unknown): never => {
        if (e instanceof PyTypeError || e instanceof ZeroDivisionError) throw c.runtime(n, (e as Error).message);
        throw e;
      };
      if (fns.length === 2) {
        const [f, g] = fns as [Fn, Fn];
        return (s, e, a) => {
          const x = f(s, e, a);
          const y = g(s, e, a);
          try {
            return op(x, y);
          } catch (err) {
            return wrap(err);
          }
        };
      }
      return (s, e, a) => {
        const values = fns.map((f) => f(s, e, a));
        try {
          let acc = values[0];
          for (let i = 1; i < values.length; i++) acc = op(acc, values[i]);
          return acc;
        } catch (err) {
          return wrap(err);
        }
      };
    },
  };
}

type Test = (a: unknown, b: unknown) => boolean;

const TESTS: Record<string, [string, Test]> = {
  LT: ["<", (a, b) => compare(a, b, "<") < 0],
  LE: ["<=", (a, b) => compare(a, b, "<=") <= 0],
  EQ: ["==", eq],
  NE: ["!=", (a, b) => !eq(a, b)],
  GE: [">=", (a, b) => compare(a, b, ">=") >= 0],
  GT: [">", (a, b) => compare(a, b, ">") > 0],
  IS: ["is", (a, b) => a === b || (a == null && b == null)],
  ISNOT: ["is not", (a, b) => !(a === b || (a == null && b == null))],
};

/** A chained comparison, as Python's `a < b < c`: each item evaluated once, stopping at the first false. */
function chain(tag: string): TagSpec {
  const [sym, test] = TESTS[tag]!;
  return {
    shapes: ["seq"],
    pure: true,
    doc: `Chained comparison \`a ${sym} b ${sym} c …\`.`,
    compile: (n, c) => {
      const fns = c.items(n, 2);
      const guarded: Test = (a, b) => {
        try {
          return test(a, b);
        } catch (err) {
          if (err instanceof PyTypeError) throw c.runtime(n, err.message);
          throw err;
        }
      };
      // Comparing with a literal (the common `!EQ [!ITEM EVENT x, 200]`): the literal is not called.
      const last = n.items![1]!;
      if (fns.length === 2 && last.kind === "value") {
        const f = fns[0]!;
        const k = last.value;
        if (tag === "EQ" && (typeof k === "string" || k === null)) return (s, e, a) => { const v = f(s, e, a); return v === k || (k === null && v === undefined); };
        if (tag === "EQ") return (s, e, a) => { const v = f(s, e, a); return v === k || eq(v, k); };
        return (s, e, a) => guarded(f(s, e, a), k);
      }
      if (fns.length === 2) {
        const [f, g] = fns as [Fn, Fn];
        return (s, e, a) => guarded(f(s, e, a), g(s, e, a));
      }
      return (s, e, a) => {
        let prev = fns[0]!(s, e, a);
        for (let i = 1; i < fns.length; i++) {
          const next = fns[i]!(s, e, a);
          if (!guarded(prev, next)) return false;
          prev = next;
        }
        return true;
      };
    },
  };
}

export const logicTags: Record<string, TagSpec> = {
  ADD: fold(add, "+ (numbers, strings, lists)"),
  SUB: fold(sub, "-"),
  MUL: fold(mul, "*"),
  DIV: fold(div, "/ (true division)"),
  FLOORDIV: fold(floordiv, "// (Python's floor division)"),
  MOD: fold(mod, "% (the result has the divisor's sign)"),
  POW: fold(pow, "**"),
  LT: chain("LT"),
  LE: chain("LE"),
  EQ: chain("EQ"),
  NE: chain("NE"),
  GE: chain("GE"),
  GT: chain("GT"),
  IS: chain("IS"),
  ISNOT: chain("ISNOT"),
  AND: {
    shapes: ["seq"],
    pure: true,
    doc: "True when every item is truthy (stops at the first that is not).",
    compile: (n, c) => {
      const fns = c.items(n, 1);
      return (s, e, a) => {
        for (let i = 0; i < fns.length; i++) if (!truthy(fns[i]!(s, e, a))) return false;
        return true;
      };
    },
  },
  OR: {
    shapes: ["seq"],
    pure: true,
    doc: "True at the first truthy item, else False.",
    compile: (n, c) => {
      const fns = c.items(n, 1);
      return (s, e, a) => {
        for (let i = 0; i < fns.length; i++) if (truthy(fns[i]!(s, e, a))) return true;
        return false;
      };
    },
  },
  NOT: {
    shapes: ["map"],
    args: ["what"],
    required: ["what"],
    pure: true,
    doc: "`not what`.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      return (s, e, a) => !truthy(what(s, e, a));
    },
  },
  IN: {
    shapes: ["map"],
    args: ["what", "where"],
    required: ["what", "where"],
    pure: true,
    doc: "`what in where` (a list, set, dict's keys or a substring).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const whereNode = c.argNode(n, "where")!;
      // A literal list of scalars becomes a set (BSPump's frozenset rewrite), here at compile time.
      if (whereNode.kind === "list" && whereNode.items.every((i) => i.kind === "value" && (i.value === null || typeof i.value !== "object"))) {
        const set = new Set(whereNode.items.map((i) => hashKey((i as { value: unknown }).value)));
        return (s, e, a) => set.has(hashKey(what(s, e, a)));
      }
      const where = c.compile(whereNode);
      return (s, e, a) => {
        const w = where(s, e, a);
        try {
          return contains(w, what(s, e, a));
        } catch (err) {
          if (err instanceof PyTypeError) throw c.runtime(n, err.message);
          throw err;
        }
      };
    },
  },
  ISNONE: { shapes: ["map"], args: ["what"], required: ["what"], pure: true, doc: "`what is None`.", compile: (n, c) => { const w = c.arg(n, "what"); return (s, e, a) => w(s, e, a) == null; } },
};
