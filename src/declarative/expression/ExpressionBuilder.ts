import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Application, EventContext } from "../../core/index.js";
import { DeclarationError, type ExprNode, type Fn, type Loc, type Node, type Scope } from "./ast.js";
import { Compiler, type TagSpec } from "./compiler.js";
import { formatNode } from "./format.js";
import { ExpressionOptimizer } from "./optimizer.js";
import { parseDeclaration } from "./parse.js";
import { builtinTags } from "./tags/index.js";

/** Where `!INCLUDE` and identifiers find declarations: a folder, or text by path in memory. */
export interface DeclarationLibrary {
  /** The text at `path` (e.g. `/include/parser.yaml`), or null. */
  read(path: string): string | null;
}

export class FolderLibrary implements DeclarationLibrary {
  constructor(readonly root: string) {}
  read(path: string): string | null {
    const full = join(this.root, path);
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, "utf8") : null;
  }
}

export class MemoryLibrary implements DeclarationLibrary {
  private readonly files: Map<string, string>;
  constructor(files: Record<string, string> | Map<string, string>) {
    this.files = new Map(files instanceof Map ? files : Object.entries(files));
  }
  read(path: string): string | null {
    return this.files.get(path) ?? this.files.get(path.replace(/^\//, "")) ?? null;
  }
}

export interface ParseOptions {
  /** Run the ExpressionOptimizer (default true). */
  optimize?: boolean;
}

/** A compiled top-level expression: call it per event. */
export class Expression {
  constructor(
    /** The closure the compiler made: `(scope, event, arg)`. */
    readonly fn: Fn,
    /** The (optimized) AST it was compiled from. */
    readonly ast: Node,
  ) {}

  /** Evaluates on one event (BSPump's `expr(context, event, *args, **kwargs)`). */
  call(context: EventContext, event: unknown, arg?: unknown, kwargs: Record<string, unknown> = {}): unknown {
    const v = this.fn({ context, kwargs }, event, arg);
    return v === undefined ? null : v;
  }

  /** The declaration text of the AST (after optimization: the form that runs). */
  toString(): string {
    return formatNode(this.ast);
  }
}

/**
 * BSPump's ExpressionBuilder: YAML 1.1 declarations with the tags of the expression language →
 * compiled expressions. `parse()` returns one Expression per YAML document, or throws one
 * DeclarationError listing every problem found (each with its file, line, column and tag).
 */
export class ExpressionBuilder {
  /** `!CONFIG key` values, substituted at load time; an unknown key is None. */
  readonly config: Record<string, unknown> = {};
  readonly tags: Map<string, TagSpec> = builtinTags();
  readonly library: DeclarationLibrary | null;
  /** `[declarations] timezone`: DATETIME's default time zone. */
  timezone: string | null = null;
  private readonly includes = new Map<string, Node>();

  constructor(
    readonly app: Application | null = null,
    library: DeclarationLibrary | string | Record<string, string> | null = null,
    readonly includePaths: string[] = ["/include"],
  ) {
    this.library = library === null ? null : typeof library === "string" ? new FolderLibrary(library) : "read" in library && typeof library.read === "function" ? (library as DeclarationLibrary) : new MemoryLibrary(library as Record<string, string>);
    if (app) {
      const zone = app.config.get("declarations", "timezone");
      if (zone) this.timezone = zone;
    }
  }

  addConfigValue(key: string, value: unknown): void {
    this.config[key] = value;
  }

  updateConfig(values: Record<string, unknown>): void {
    Object.assign(this.config, values);
  }

  /** A user tag (BSPump's `register_class`); `name` without the `!`. */
  registerTag(name: string, spec: TagSpec): void {
    this.tags.set(name, spec);
  }

  /** Declaration text (or a library identifier) → compiled expressions. */
  parse(declaration: string, sourceName?: string, options: ParseOptions = {}): Expression[] {
    const { asts, errors } = this.load(declaration, sourceName);
    const optimize = options.optimize ?? true;
    const optimizer = new ExpressionOptimizer(this.tags);
    const compiler = this.compiler();
    const out: Expression[] = [];
    for (const ast of asts) {
      const node = optimize ? optimizer.optimize(ast) : ast;
      out.push(new Expression(compiler.compileRoot(node), node));
    }
    errors.push(...compiler.errors);
    if (errors.length > 0) {
      const order = (e: DeclarationError): string => `${e.loc.source}\0${String(e.loc.line).padStart(9)}${String(e.loc.column).padStart(9)}`;
      throw DeclarationError.of(errors.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)));
    }
    return out;
  }

  /** Compiles one node of a loaded AST (a part of a declaration that is a plain mapping, e.g. an analyzer's `predicate`). */
  compileNode(node: Node, optimize = true): Expression {
    const ast = optimize ? new ExpressionOptimizer(this.tags).optimize(node) : node;
    const compiler = this.compiler();
    const fn = compiler.compileRoot(ast);
    if (compiler.errors.length > 0) throw DeclarationError.of(compiler.errors);
    return new Expression(fn, ast);
  }

  /** Every error of a declaration (empty when it compiles): what `bspump check` reports. */
  check(declaration: string, sourceName?: string): DeclarationError[] {
    try {
      this.parse(declaration, sourceName, { optimize: false });
      return [];
    } catch (e) {
      if (e instanceof DeclarationError) return e.errors;
      throw e;
    }
  }

  /** The ASTs, with `!INCLUDE` and `!CONFIG` resolved, and the errors found so far. */
  load(declaration: string, sourceName?: string): { asts: Node[]; errors: DeclarationError[] } {
    let text = declaration;
    let source = sourceName ?? "<declaration>";
    if (this.isIdentifier(declaration)) {
      const found = this.readIdentifier(declaration);
      if (found === null) {
        return { asts: [], errors: [new DeclarationError({ source, line: 1, column: 1 }, null, `declaration '${declaration}' not found in the library (${this.includePaths.join(", ")})`)] };
      }
      [text, source] = found;
    }
    const { docs, errors } = parseDeclaration(text, source);
    const asts = docs.map((d) => this.resolve(d, errors, [source]));
    return { asts, errors };
  }

  private compiler(): Compiler {
    return new Compiler({ app: this.app, tags: this.tags, log: this.app?.logs.logger("bspump.declarative") ?? null, timezone: this.timezone });
  }

  private isIdentifier(text: string): boolean {
    const t = text.trim();
    return this.library !== null && !t.startsWith("---") && !t.includes("\n") && !t.startsWith("!") && /^[\w./-]+$/.test(t);
  }

  private readIdentifier(id: string): [string, string] | null {
    if (!this.library) return null;
    const name = id.trim();
    const candidates = [...this.includePaths.map((p) => `${p.replace(/\/$/, "")}/${name}.yaml`), ...this.includePaths.map((p) => `${p.replace(/\/$/, "")}/${name}.yml`), `${name}.yaml`, `${name}.yml`, name];
    for (const path of candidates) {
      const text = this.library.read(path);
      if (text !== null) return [text, path];
    }
    return null;
  }

  /** Replaces `!INCLUDE id` by the included declaration's first expression and `!CONFIG key` by its value. */
  private resolve(node: Node, errors: DeclarationError[], stack: string[]): Node {
    switch (node.kind) {
      case "value":
        return node;
      case "list":
        return { ...node, items: node.items.map((i) => this.resolve(i, errors, stack)) };
      case "map":
        return { ...node, entries: node.entries.map((e) => ({ ...e, value: this.resolve(e.value, errors, stack) })) };
      case "expr":
        if (node.tag === "CONFIG" && node.shape === "scalar") {
          const key = node.scalar!.trim();
          const v = Object.hasOwn(this.config, key) ? this.config[key] : null;
          return { kind: "value", value: v === undefined ? null : v, loc: node.loc };
        }
        if (node.tag === "INCLUDE" && node.shape === "scalar") return this.include(node, errors, stack);
        return {
          ...node,
          items: node.items?.map((i) => this.resolve(i, errors, stack)),
          args: node.args ? new Map([...node.args].map(([k, v]) => [k, this.resolve(v, errors, stack)])) : undefined,
        };
    }
  }

  private include(node: ExprNode, errors: DeclarationError[], stack: string[]): Node {
    const id = node.scalar!.trim();
    const fail = (problem: string): Node => {
      errors.push(new DeclarationError(node.loc, "INCLUDE", problem));
      return { kind: "value", value: null, loc: node.loc };
    };
    if (!id) return fail("expected the identifier of a declaration");
    if (stack.includes(id)) return fail(`include cycle: ${[...stack, id].join(" → ")}`);
    let ast = this.includes.get(id);
    if (ast === undefined) {
      const found = this.readIdentifier(id);
      if (found === null) return fail(`declaration '${id}' not found in the library (${this.library ? this.includePaths.join(", ") : "no library"})`);
      const parsed = parseDeclaration(found[0], found[1]);
      errors.push(...parsed.errors);
      if (parsed.docs.length === 0) return parsed.errors.length ? { kind: "value", value: null, loc: node.loc } : fail(`'${id}' holds no expression`);
      // Only the first expression of an included file is used (as in BSPump).
      ast = this.resolve(parsed.docs[0]!, errors, [...stack, id]);
      this.includes.set(id, ast);
    }
    // A FUNCTION: SELF inside the included declaration calls the included declaration.
    const loc: Loc = node.loc;
    return { kind: "expr", tag: "FUNCTION", shape: "map", args: new Map<string, Node>([["apply", ast], ["name", { kind: "value", value: id, loc }]]), loc };
  }
}

export type { Scope };
