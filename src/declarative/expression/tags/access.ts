import type { ExprNode, Fn, Node } from "../ast.js";
import type { Compiler, TagSpec } from "../compiler.js";
import { isDict } from "../py.js";

/**
 * `!ACCESS` and `!ARGUMENT`, which the issue asks for by name and which no BSPump release that
 * can be read has (neither BitSwanPump's HEAD nor bitswan 2026.4.13.50 registers them; §2.19 of the
 * reference does not list them). Their meaning here extends what BSPump has: ACCESS is ITEM's
 * nested walk (BSPump's optimized `ITEM CONTEXT a.b`) for any value, ARGUMENT reads a named argument
 * that an enclosing `!FUNCTION` declares, checked at load time (BSPump's `!KWARG` is not).
 */

const BASES = ["EVENT", "CONTEXT", "KWARGS", "ARG"];

/** One step of a path: a key as given, and as a list index when it is an integer. */
interface Step {
  key: string;
  index: number | null;
}

function stepOf(part: unknown): Step | null {
  if (typeof part === "number" && Number.isInteger(part)) return { key: String(part), index: part };
  if (typeof part !== "string" || part === "") return null;
  return { key: part, index: /^-?\d+$/.test(part) ? Number(part) : null };
}

/** The value at `path` in nested dicts, Maps and lists; undefined when a step is missing. */
function walk(root: unknown, path: readonly Step[]): unknown {
  let value = root;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    if (Array.isArray(value)) {
      if (step.index === null) return undefined;
      value = value[step.index < 0 ? value.length + step.index : step.index];
    } else if (value instanceof Map) {
      value = value.has(step.key) ? value.get(step.key) : step.index !== null ? value.get(step.index) : undefined;
    } else if (isDict(value)) {
      if (!Object.hasOwn(value, step.key)) return undefined;
      value = value[step.key];
    } else return undefined;
  }
  return value;
}

function parsePath(n: ExprNode, c: Compiler, node: Node | string): Step[] {
  const parts: unknown[] | null =
    typeof node === "string" ? node.split(".")
    : node.kind === "value" && typeof node.value === "string" ? node.value.split(".")
    : node.kind === "value" && typeof node.value === "number" ? [node.value]
    : node.kind === "list" && node.items.every((i) => i.kind === "value") ? node.items.map((i) => (i as { value: unknown }).value)
    : null;
  const where = typeof node === "string" ? n : node;
  if (parts === null || parts.length === 0) return c.fail(where, "'path' must be a literal: dotted text (`a.b.0`) or a list of keys and indexes", n.tag);
  return parts.map((p) => stepOf(p) ?? c.fail(where, `'path' has an empty or non-text key (${JSON.stringify(p)})`, n.tag));
}

function compileAccess(n: ExprNode, c: Compiler): Fn {
  let base: Fn;
  let path: Step[];
  let dflt: Fn | null = null;
  if (n.shape === "scalar") {
    const text = n.scalar!.trim();
    const space = text.indexOf(" ");
    const b = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    if (!BASES.includes(b) || space < 0) return c.fail(n, `expected 'EVENT path', 'CONTEXT path', 'KWARGS path' or 'ARG path', got '${text}'`);
    base = b === "EVENT" ? (_s, e) => e : b === "CONTEXT" ? (s) => s.context : b === "KWARGS" ? (s) => s.kwargs : (_s, _e, a) => a;
    path = parsePath(n, c, text.slice(space + 1).trim());
  } else {
    base = c.arg(n, "with");
    path = parsePath(n, c, c.argNode(n, "path")!);
    if (c.argNode(n, "default")) dflt = c.arg(n, "default");
  }
  const d = dflt;
  return (s, e, a) => {
    const v = walk(base(s, e, a), path);
    // A present None stays None (as ITEM: only a missing key gives the default).
    return v !== undefined ? v : d === null ? null : d(s, e, a);
  };
}

export const accessTags: Record<string, TagSpec> = {
  ACCESS: {
    shapes: ["scalar", "map"],
    args: ["with", "path", "default"],
    required: ["with", "path"],
    pure: true,
    doc: "The value at a path of keys and list indexes (`a.b.0`, or a list) in nested dicts and lists; `default` (None) when a step is missing. An extension of this port.",
    compile: compileAccess,
  },
  ARGUMENT: {
    shapes: ["scalar"],
    input: true,
    doc: "A named argument of the enclosing `!FUNCTION` (declared in its `arguments`; checked at load time). An extension of this port.",
    compile: (n, c) => {
      const name = n.scalar!.trim();
      if (!name) return c.fail(n, "expected an argument name");
      const declared = c.functionArguments.flat();
      if (!declared.includes(name)) {
        return c.fail(n, c.functionArguments.length === 0 ? `'${name}' is not an argument: !ARGUMENT is used inside a !FUNCTION that declares it in 'arguments'` : `'${name}' is not an argument of the enclosing !FUNCTION (declared: ${declared.join(", ") || "none"})`);
      }
      return (s) => {
        const kw = s.kwargs;
        const v = Object.hasOwn(kw, name) ? kw[name] : undefined;
        return v === undefined ? null : v;
      };
    },
  },
};
