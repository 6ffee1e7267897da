import { ConfigError } from "../../core/index.js";
import type { EventContext } from "../../core/index.js";

/** Where a node was declared: the declaration's name (a file or `<string>`), 1-based line and column. */
export interface Loc {
  source: string;
  line: number;
  column: number;
}

/**
 * The parsed form of a declaration, before compilation. `expr` is a tagged node (`!ADD [1, 2]`);
 * `value` a plain literal; `list` and `map` plain YAML collections (whose members may be
 * expressions). Keys of a plain map keep their YAML type (`200:` is a number, as in Python).
 */
export type Node = ExprNode | ValueNode | ListNode | MapNode;

export interface ValueNode {
  kind: "value";
  value: unknown;
  loc: Loc;
}

export interface ListNode {
  kind: "list";
  items: Node[];
  loc: Loc;
}

export interface MapNode {
  kind: "map";
  entries: MapEntry[];
  loc: Loc;
}

export interface MapEntry {
  key: unknown;
  value: Node;
  loc: Loc;
}

export interface ExprNode {
  kind: "expr";
  /** Without the `!`: `ADD`, `REGEX.PARSE`. */
  tag: string;
  shape: "scalar" | "seq" | "map";
  /** The scalar form's text (`EVENT foo` of `!ITEM EVENT foo`). */
  scalar?: string;
  /** The sequence form's items. */
  items?: Node[];
  /** The mapping form's arguments, by name. */
  args?: Map<string, Node>;
  loc: Loc;
}

/**
 * What a compiled expression is called with per event. `arg` is BSPump's first extra positional
 * argument (`!ARG`), through which transforms (`modify`, REGEX.PARSE items) get their input.
 */
export type Fn = (scope: Scope, event: unknown, arg: unknown) => unknown;

/** Per-call state shared by all nodes; a processor reuses one per event (no allocation). */
export interface Scope {
  context: EventContext;
  kwargs: Record<string, unknown>;
}

export function at(loc: Loc): string {
  return `${loc.source}:${loc.line}:${loc.column}`;
}

/**
 * A declaration error: the file, line and column, the tag and what was expected. One thrown by the
 * builder lists every error of the declaration in `errors` (itself first), so `bspump check`
 * reports them all.
 */
export class DeclarationError extends ConfigError {
  override name = "DeclarationError";
  errors: DeclarationError[] = [this];
  constructor(
    readonly loc: Loc,
    readonly tag: string | null,
    readonly problem: string,
  ) {
    super(`${at(loc)}: ${tag ? `!${tag}: ` : ""}${problem}`);
  }

  /** One error standing for several (the first's location; the message lists them all). */
  static of(errors: DeclarationError[]): DeclarationError {
    const first = errors[0]!;
    if (errors.length === 1) return first;
    const all = new DeclarationError(first.loc, first.tag, first.problem);
    all.errors = errors;
    all.message = errors.map((e) => e.message).join("\n");
    all.stack = `${all.name}: ${all.message}`;
    return all;
  }
}

/** A failure of an expression on one event; goes to the pipeline's error rules. */
export class ExpressionError extends Error {
  override name = "ExpressionError";
  constructor(
    readonly loc: Loc,
    readonly tag: string,
    message: string,
  ) {
    super(`${at(loc)}: !${tag}: ${message}`);
  }
}

export function isLiteral(node: Node): node is ValueNode {
  return node.kind === "value";
}
