import type { Fn, Node } from "../ast.js";
import type { Root, TagSpec } from "../compiler.js";
import { hashKey, repr, truthy } from "../py.js";

export const controlTags: Record<string, TagSpec> = {
  IF: {
    shapes: ["map"],
    args: ["test", "then", "else"],
    required: ["test"],
    pure: true,
    doc: "`then` (default True) when `test` is truthy, else `else` (default False).",
    compile: (n, c) => {
      const test = c.arg(n, "test");
      const then = c.arg(n, "then", true);
      const els = c.arg(n, "else", false);
      return (s, e, a) => (truthy(test(s, e, a)) ? then(s, e, a) : els(s, e, a));
    },
  },
  WHEN: {
    shapes: ["seq"],
    pure: true,
    doc: "The `then` of the first `- test:` that is truthy, else the `- else:` value (None without one).",
    compile: (n, c) => {
      const tests: Fn[] = [];
      const thens: Fn[] = [];
      let els: Fn = () => null;
      const items = n.items!;
      items.forEach((item, i) => {
        const keys = item.kind === "map" ? item.entries.map((e) => e.key) : [];
        const get = (k: string): Node | undefined => (item.kind === "map" ? item.entries.find((e) => e.key === k)?.value : undefined);
        if (item.kind === "map" && keys.length === 2 && get("test") && get("then")) {
          tests.push(c.compile(get("test")!));
          thens.push(c.compile(get("then")!));
        } else if (item.kind === "map" && keys.length === 1 && get("else") && i === items.length - 1) {
          els = c.compile(get("else")!);
        } else {
          c.fail(item, "each item must be `- test: … then: …`, the last may be `- else: …`", n.tag);
        }
      });
      return (s, e, a) => {
        for (let i = 0; i < tests.length; i++) if (truthy(tests[i]!(s, e, a))) return thens[i]!(s, e, a);
        return els(s, e, a);
      };
    },
  },
  MAP: {
    shapes: ["map"],
    args: ["what", "in", "else"],
    required: ["what", "in"],
    pure: true,
    doc: "Dispatch on the value of `what` by the literal keys of `in`; a missing key gives `else` (None).",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      const inNode = c.argNode(n, "in")!;
      if (inNode.kind !== "map") return c.fail(inNode, "'in' must be a mapping of literal keys to values", n.tag);
      const table = new Map<unknown, Fn>();
      for (const entry of inNode.entries) {
        const k = hashKey(entry.key);
        if (!table.has(k)) table.set(k, c.compile(entry.value));
      }
      const els = c.arg(n, "else");
      return dispatch(what, table, els);
    },
  },
  FOR: {
    shapes: ["map"],
    args: ["each", "do"],
    required: ["each", "do"],
    pure: true,
    doc: "`[do(item) for item in each]`, each item passed as ARG.",
    compile: (n, c) => {
      const each = c.arg(n, "each");
      const body = c.arg(n, "do");
      return (s, e, a) => {
        const items = each(s, e, a);
        if (items == null) throw c.runtime(n, "'each' is None");
        const list = Array.isArray(items) ? items : typeof items === "string" || items instanceof Set ? [...items] : typeof items === "object" ? Object.keys(items) : null;
        if (list === null) throw c.runtime(n, `'each' is not iterable: ${repr(items)}`);
        return list.map((item) => body(s, e, item));
      };
    },
  },
  FIRST: {
    shapes: ["seq"],
    pure: true,
    doc: "The first item that is not None.",
    compile: (n, c) => {
      const fns = c.items(n);
      return (s, e, a) => {
        for (const f of fns) {
          const v = f(s, e, a);
          if (v != null) return v;
        }
        return null;
      };
    },
  },
  TRY: {
    shapes: ["seq"],
    pure: true,
    doc: "The first item that evaluates without an error and is not None (an extension of this port).",
    compile: (n, c) => {
      const fns = c.items(n);
      return (s, e, a) => {
        for (const f of fns) {
          try {
            const v = f(s, e, a);
            if (v != null) return v;
          } catch {
            // This item failed on this event: try the next one.
          }
        }
        return null;
      };
    },
  },
  SELF: {
    shapes: ["map"],
    args: ["event"],
    required: ["event"],
    input: true,
    doc: "The enclosing top-level expression evaluated on a new event (recursion).",
    compile: (n, c) => {
      const root: Root = c.currentRoot;
      const event = c.arg(n, "event");
      return (s, e, a) => {
        try {
          return root.fn(s, event(s, e, a), undefined);
        } catch (err) {
          if (err instanceof RangeError) throw c.runtime(n, "recursion too deep");
          throw err;
        }
      };
    },
  },
  FUNCTION: {
    shapes: ["map"],
    args: ["apply", "name", "arguments"],
    required: ["apply"],
    pure: true,
    doc: "Wraps `apply` (BSPump's `parse_ext` wraps every top-level expression in it). `arguments` (an extension) declares named arguments for `!ARGUMENT`: a list of names, or names with defaults.",
    compile: (n, c) => {
      c.literal(n, "name", null, (v): v is string | null => v === null || typeof v === "string", "a string");
      const argsNode = c.argNode(n, "arguments");
      const names: string[] = [];
      const defaults: Fn[] = [];
      if (argsNode !== undefined) {
        const entries: [unknown, Node | null][] =
          argsNode.kind === "list" ? argsNode.items.map((i) => [i.kind === "value" ? i.value : undefined, null])
          : argsNode.kind === "map" ? argsNode.entries.map((e) => [e.key, e.value])
          : c.fail(argsNode, "'arguments' must be a list of names or a mapping of names to defaults", n.tag);
        for (const [name, dflt] of entries) {
          if (typeof name !== "string" || name === "" || names.includes(name)) return c.fail(argsNode, `an argument name must be a non-empty text, given once (got ${JSON.stringify(name) ?? "an expression"})`, n.tag);
          names.push(name);
          // A default is evaluated in the caller's scope, when the caller gives no value.
          defaults.push(dflt === null ? () => null : c.compile(dflt));
        }
      }
      // A function is a SELF boundary: SELF inside it calls the function (an included declaration is one).
      c.functionArguments.push(names);
      let apply: Fn;
      try {
        apply = c.compileRoot(c.argNode(n, "apply")!);
      } finally {
        c.functionArguments.pop();
      }
      if (names.length === 0) return apply;
      // The call's keyword arguments, with the declared defaults for those it lacks; restored after.
      return (s, e, a) => {
        const caller = s.kwargs;
        const kwargs: Record<string, unknown> = { ...caller };
        for (let i = 0; i < names.length; i++) {
          const name = names[i]!;
          if (!Object.hasOwn(caller, name) || caller[name] === undefined) kwargs[name] = defaults[i]!(s, e, a);
        }
        s.kwargs = kwargs;
        try {
          return apply(s, e, a);
        } finally {
          s.kwargs = caller;
        }
      };
    },
  },
  DEBUG: {
    shapes: ["map"],
    args: ["what"],
    required: ["what"],
    input: true,
    doc: "Logs the value at WARNING level and returns it.",
    compile: (n, c) => {
      const what = c.arg(n, "what");
      return (s, e, a) => {
        const v = what(s, e, a);
        c.warn(`DEBUG ${n.loc.source}:${n.loc.line}: ${repr(v)}`);
        return v;
      };
    },
  },
};

/** A dictionary dispatch (MAP, and the optimizer's rewrite of a WHEN of EQ tests on one value). */
export function dispatch(what: Fn, table: Map<unknown, Fn>, els: Fn): Fn {
  return (s, e, a) => {
    const v = what(s, e, a);
    const f = table.get(typeof v === "boolean" ? (v ? 1 : 0) : v === undefined ? null : typeof v === "bigint" ? Number(v) : v);
    return f === undefined ? els(s, e, a) : f(s, e, a);
  };
}
