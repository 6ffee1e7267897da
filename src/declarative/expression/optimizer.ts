import type { ExprNode, MapEntry, Node, Scope } from "./ast.js";
import { Compiler, type TagSpec } from "./compiler.js";
import { sameNode } from "./format.js";
import { hashKey, truthy } from "./py.js";

// Tags whose result depends only on their inputs and that change nothing: a WHEN may evaluate
// its subject once instead of once per test.
const READS = new Set(["ITEM", "ACCESS", "EVENT", "CONTEXT", "KWARGS", "KWARG", "ARG", "ARGS", "ARGUMENT"]);
// Pure, but they change the dict or list given as `with`.
const MUTATES = new Set(["DICT", "LIST"]);
const MAX_PASSES = 1000;

/**
 * BSPump's ExpressionOptimizer, on the AST before compilation: constant folding (a pure tag whose
 * inputs are all literals becomes its value, when that is a scalar — a folded dict or list would
 * be one object shared by every event), `IF` on a literal test becomes its branch, and a `WHEN`
 * of `EQ` tests of one subject against literals becomes a `MAP` (a dispatch table). The rewrites
 * BSPump does on ITEM, EQ and IN the compiler does for every declaration, optimized or not, so
 * optimizing never changes a result (BSPump's nested context keys did change).
 */
export class ExpressionOptimizer {
  constructor(private readonly tags: ReadonlyMap<string, TagSpec>) {}

  optimize(node: Node): Node {
    let current = node;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const next = this.rewrite(current);
      if (next === current) return current;
      current = next;
    }
    return current;
  }

  optimizeMany(nodes: Node[]): Node[] {
    return nodes.map((n) => this.optimize(n));
  }

  /** One bottom-up pass; returns the same object when nothing changed. */
  private rewrite(node: Node): Node {
    switch (node.kind) {
      case "value":
        return node;
      case "list": {
        const items = this.all(node.items);
        return items === node.items ? node : { ...node, items };
      }
      case "map": {
        const values = this.all(node.entries.map((e) => e.value));
        if (values.every((v, i) => v === node.entries[i]!.value)) return node;
        return { ...node, entries: node.entries.map((e, i): MapEntry => ({ ...e, value: values[i]! })) };
      }
      case "expr": {
        let changed = false;
        let items = node.items;
        if (items) {
          const next = this.all(items);
          changed ||= next !== items;
          items = next;
        }
        let args = node.args;
        if (args) {
          const next = new Map<string, Node>();
          for (const [k, v] of args) {
            const r = this.rewrite(v);
            changed ||= r !== v;
            next.set(k, r);
          }
          args = next;
        }
        const self: ExprNode = changed ? { ...node, items, args } : node;
        return this.rewriteExpr(self) ?? self;
      }
    }
  }

  private all(nodes: Node[]): Node[] {
    const out = nodes.map((n) => this.rewrite(n));
    return out.every((n, i) => n === nodes[i]) ? nodes : out;
  }

  private rewriteExpr(node: ExprNode): Node | null {
    if (node.tag === "IF") {
      const test = node.args?.get("test");
      if (test?.kind === "value") {
        const branch = node.args!.get(truthy(test.value) ? "then" : "else");
        return branch ?? { kind: "value", value: truthy(test.value), loc: node.loc };
      }
    }
    if (node.tag === "WHEN") return this.dispatch(node);
    return this.fold(node);
  }

  private fold(node: ExprNode): Node | null {
    const spec = this.tags.get(node.tag);
    // A regex on a literal could backtrack for long: not run at load time.
    if (!spec?.pure || spec.input || node.tag.startsWith("REGEX")) return null;
    if (node.shape === "scalar" && node.tag !== "VALUE" && !node.tag.startsWith("!")) return null;
    const children = [...(node.items ?? []), ...(node.args?.values() ?? [])];
    if (!children.every(literalTree)) return null;
    const c = new Compiler({ tags: this.tags, log: null });
    const fn = c.compile(node);
    if (c.errors.length > 0) return null;
    let value: unknown;
    try {
      const scope: Scope = { context: {}, kwargs: {} };
      value = fn(scope, null, undefined);
    } catch {
      // It fails on every event; leave it so that it fails there, with its location.
      return null;
    }
    if (value !== null && value !== undefined && typeof value === "object") return null;
    // A bigint (HASH, IP.PARSE) would print as a number that YAML reads back as a float.
    if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") return null;
    return { kind: "value", value: value === undefined ? null : value, loc: node.loc };
  }

  private dispatch(node: ExprNode): Node | null {
    const items = node.items ?? [];
    let subject: Node | null = null;
    const entries: MapEntry[] = [];
    let els: Node | null = null;
    for (const [i, item] of items.entries()) {
      if (item.kind !== "map") return null;
      const get = (k: string): Node | undefined => item.entries.find((e) => e.key === k)?.value;
      if (item.entries.length === 1 && get("else") && i === items.length - 1) {
        els = get("else")!;
        continue;
      }
      const test = get("test");
      const then = get("then");
      if (!test || !then || item.entries.length !== 2) return null;
      if (test.kind !== "expr" || test.tag !== "EQ" || test.items?.length !== 2) return null;
      const [a, b] = test.items as [Node, Node];
      const [x, lit] = b.kind === "value" ? [a, b] : a.kind === "value" ? [b, a] : [null, null];
      if (x === null || lit === null || (lit.value !== null && typeof lit.value === "object")) return null;
      if (subject === null) {
        if (!this.sideEffectFree(x)) return null;
        subject = x;
      } else if (!sameNode(subject, x)) return null;
      // A later test of the same value can never win (and would be a duplicate key).
      if (!entries.some((e) => hashKey(e.key) === hashKey(lit.value))) entries.push({ key: lit.value, value: then, loc: item.loc });
    }
    if (subject === null || entries.length < 2) return null;
    const args = new Map<string, Node>([
      ["what", subject],
      ["in", { kind: "map", entries, loc: node.loc }],
    ]);
    if (els) args.set("else", els);
    return { kind: "expr", tag: "MAP", shape: "map", args, loc: node.loc };
  }

  private sideEffectFree(node: Node): boolean {
    switch (node.kind) {
      case "value":
        return true;
      case "list":
        return node.items.every((n) => this.sideEffectFree(n));
      case "map":
        return node.entries.every((e) => this.sideEffectFree(e.value));
      case "expr": {
        const spec = this.tags.get(node.tag);
        if (!spec || (!spec.pure && !READS.has(node.tag))) return false;
        if ((spec.input && !READS.has(node.tag)) || MUTATES.has(node.tag)) return false;
        return [...(node.items ?? []), ...(node.args?.values() ?? [])].every((n) => this.sideEffectFree(n));
      }
    }
  }
}

function literalTree(node: Node): boolean {
  if (node.kind === "value") return true;
  if (node.kind === "list") return node.items.every(literalTree);
  if (node.kind === "map") return node.entries.every((e) => literalTree(e.value));
  return false;
}
