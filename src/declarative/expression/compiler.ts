import type { Application, Logger } from "../../core/index.js";
import { DeclarationError, ExpressionError, type ExprNode, type Fn, type Loc, type Node, type Scope } from "./ast.js";
import { hashKey } from "./py.js";

export type Shape = "scalar" | "seq" | "map";

/** One tag of the language: its accepted shapes and arguments, and how it compiles. */
export interface TagSpec {
  shapes: Shape[];
  /** Arguments of the mapping form; any other is an error. */
  args?: string[];
  required?: string[];
  /** Deterministic and free of side effects: folded to a constant when all its inputs are literals. */
  pure?: boolean;
  /** Reads the event, context, ARG or outside state (lookups, the clock): never folded. */
  input?: boolean;
  /** One line for the docs and error messages. */
  doc: string;
  compile(node: ExprNode, c: Compiler): Fn;
}

export interface CompilerOptions {
  app?: Application | null;
  tags: ReadonlyMap<string, TagSpec>;
  log: Logger | null;
  /** `[declarations] timezone`: the default of DATETIME's `timezone`. */
  timezone?: string | null;
}

/** A compiled top-level expression, so that SELF can call the expression it is part of. */
export interface Root {
  fn: Fn;
}

const constant = (v: unknown): Fn => () => v;

/**
 * Compiles the AST to JavaScript closures, once, at load time: each node becomes a function of
 * (scope, event, arg) that calls its children's functions directly — no tree walk per event.
 * Errors are collected (one per bad node) rather than thrown at the first, so a file's every
 * error is reported.
 */
export class Compiler {
  readonly errors: DeclarationError[] = [];
  readonly roots: Root[] = [];
  /** The argument names of the enclosing `!FUNCTION`s, innermost last (what `!ARGUMENT` may read). */
  readonly functionArguments: string[][] = [];

  constructor(readonly options: CompilerOptions) {}

  get app(): Application | null {
    return this.options.app ?? null;
  }

  /** A top-level expression. */
  compileRoot(node: Node): Fn {
    const root: Root = { fn: () => null };
    this.roots.push(root);
    const fn = this.compile(node);
    root.fn = fn;
    this.roots.pop();
    return fn;
  }

  get currentRoot(): Root {
    return this.roots[this.roots.length - 1]!;
  }

  compile(node: Node): Fn {
    switch (node.kind) {
      case "value":
        return constant(node.value);
      case "list": {
        const fns = node.items.map((i) => this.compile(i));
        return (s, e, a) => {
          const out = new Array<unknown>(fns.length);
          for (let i = 0; i < fns.length; i++) out[i] = fns[i]!(s, e, a);
          return out;
        };
      }
      case "map": {
        const keys = node.entries.map((en) => String(en.key));
        const fns = node.entries.map((en) => this.compile(en.value));
        return (s, e, a) => {
          const out: Record<string, unknown> = {};
          for (let i = 0; i < fns.length; i++) out[keys[i]!] = fns[i]!(s, e, a);
          return out;
        };
      }
      case "expr":
        return this.compileExpr(node);
    }
  }

  private compileExpr(node: ExprNode): Fn {
    const spec = this.options.tags.get(node.tag);
    try {
      if (!spec) throw new DeclarationError(node.loc, null, `Unknown declarative expression '!${node.tag}'${this.similar(node.tag)}`);
      if (!spec.shapes.includes(node.shape)) {
        throw new DeclarationError(node.loc, node.tag, `expected ${spec.shapes.map(describeShape).join(" or ")}, got ${describeShape(node.shape)}`);
      }
      if (node.shape === "map") this.checkArgs(node, spec);
      return spec.compile(node, this);
    } catch (e) {
      if (!(e instanceof DeclarationError)) throw e;
      this.errors.push(e);
      return constant(null);
    }
  }

  private checkArgs(node: ExprNode, spec: TagSpec): void {
    const allowed = spec.args ?? [];
    for (const name of node.args!.keys()) {
      if (!allowed.includes(name)) {
        this.errors.push(new DeclarationError(node.args!.get(name)!.loc, node.tag, `unexpected argument '${name}' (expected ${allowed.length ? allowed.join(", ") : "none"})`));
      }
    }
    for (const name of spec.required ?? []) {
      if (!node.args!.has(name)) throw new DeclarationError(node.loc, node.tag, `missing argument '${name}'`);
    }
  }

  private similar(tag: string): string {
    const close = [...this.options.tags.keys()].filter((t) => t.toLowerCase() === tag.toLowerCase() || (tag.length > 2 && (t.startsWith(tag) || tag.startsWith(t))));
    return close.length ? `; did you mean ${close.slice(0, 3).map((t) => `!${t}`).join(", ")}?` : "";
  }

  // --- helpers for the tag modules ---

  fail(node: { loc: Loc } | ExprNode, message: string, tag?: string): never {
    throw new DeclarationError(node.loc, tag ?? ("tag" in node ? node.tag : null), message);
  }

  argNode(node: ExprNode, name: string): Node | undefined {
    return node.args?.get(name);
  }

  /** The compiled argument, or a constant default. */
  arg(node: ExprNode, name: string, dflt: unknown = null): Fn {
    const n = node.args?.get(name);
    return n === undefined ? constant(dflt) : this.compile(n);
  }

  /** True when the argument is `!EVENT`: read without a call. */
  isEvent(node: ExprNode, name: string): boolean {
    const n = node.args?.get(name);
    return n !== undefined && n.kind === "expr" && n.tag === "EVENT" && n.shape === "scalar";
  }

  /** True when the argument is `!ARG`: a transform's own input, read without a call. */
  isArg(node: ExprNode, name: string): boolean {
    const n = node.args?.get(name);
    return n !== undefined && n.kind === "expr" && n.tag === "ARG" && n.shape === "scalar";
  }

  /** The argument as a literal known at load time (a regex, a format, a type name). */
  literal<T>(node: ExprNode, name: string, dflt: T, check: (v: unknown) => v is T, expected: string): T {
    const n = node.args?.get(name);
    if (n === undefined) return dflt;
    if (n.kind !== "value" || !check(n.value)) this.fail(n, `'${name}' must be ${expected}`, node.tag);
    return n.value;
  }

  /** The items of a sequence node, compiled. */
  items(node: ExprNode, min = 0): Fn[] {
    const items = node.items ?? [];
    if (items.length < min) this.fail(node, `expected at least ${min} item${min === 1 ? "" : "s"}, got ${items.length}`);
    return items.map((i) => this.compile(i));
  }

  /** Wraps a runtime failure with the node's location, for the pipeline's error rules. */
  runtime(node: ExprNode, message: string): ExpressionError {
    return new ExpressionError(node.loc, node.tag, message);
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.warn(message, fields);
  }
}

function describeShape(s: Shape): string {
  return s === "scalar" ? "a scalar (`!TAG value`)" : s === "seq" ? "a sequence (`!TAG [...]`)" : "a mapping (`!TAG {...}`)";
}

export const isString = (v: unknown): v is string => typeof v === "string";
export const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
export const isBool = (v: unknown): v is boolean => typeof v === "boolean";

/** Calls `fn` with ARG = `arg` (transforms: `modify`, REGEX.PARSE items). */
export function withArg(fn: Fn, s: Scope, e: unknown, arg: unknown): unknown {
  return fn(s, e, arg);
}

export { hashKey };
