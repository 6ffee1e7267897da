import { ConfigError, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { TimeWindowAnalyzer, type TimeWindowAnalyzerOptions } from "../analyzer/index.js";
import { DeclarationError, ExpressionBuilder, type Expression, type Node, type Scope } from "./expression/index.js";
import { truthy } from "./expression/py.js";
import { DECLARATION_CONFIG, declarationText, type DeclarativeOptions } from "./declarationSource.js";

export type DeclarativeTimeWindowAnalyzerOptions = TimeWindowAnalyzerOptions & Omit<DeclarativeOptions, keyof TimeWindowAnalyzerOptions>;

interface Parts {
  dimension: Expression;
  time: Expression | null;
  predicate: Expression | null;
  evaluate: Expression | null;
  count?: number;
  resolution?: number;
}

/**
 * BSPump's DeclarativeTimeWindowAnalyzer: a TimeWindowAnalyzer whose predicate, dimension, time
 * and value are declarations:
 *
 * ```yaml
 * ---
 * define:
 *   dimension: !ITEM EVENT user
 *   columns: {count: 15, resolution: 60, item: !ITEM EVENT ts}   # item: the event time (default: the clock)
 * predicate: !EQ [!ITEM EVENT action, login]                      # default: every event
 * evaluate: !ITEM EVENT bytes                                     # summed per cell; default: count only
 * ```
 * Windows, emission, lateness and detectors are the TimeWindowAnalyzer's (its config keys apply;
 * `columns`/`resolution` come from the declaration when it gives them). BSPump's was unfinished
 * (it awaited nothing and `trigger` only printed); `trigger` is not supported here.
 */
export class DeclarativeTimeWindowAnalyzer extends TimeWindowAnalyzer {
  static override ConfigDefaults: ConfigSpec = DECLARATION_CONFIG;
  declare readonly config: TypedConfig<typeof DECLARATION_CONFIG> & TimeWindowAnalyzer["config"];

  private readonly parts: Parts;
  private readonly scope: Scope = { context: {}, kwargs: {} };

  constructor(app: Application, pipeline: Pipeline, options: DeclarativeTimeWindowAnalyzerOptions = {}) {
    const id = options.id ?? "DeclarativeTimeWindowAnalyzer";
    const parts = DeclarativeTimeWindowAnalyzer.load(app, options, `pipeline:${pipeline.id}:${id}`);
    const fixed: Record<string, string | number> = { timestamp_attr: "t", timestamp_unit: "s", dimension_attr: "d", value_attr: parts.evaluate ? "v" : "", time_source: parts.time ? "event" : "clock" };
    if (parts.count !== undefined) fixed.columns = parts.count;
    if (parts.resolution !== undefined) fixed.resolution = parts.resolution;
    super(app, pipeline, { ...options, config: { ...(options.config as Record<string, string | number> | undefined), ...fixed } });
    this.parts = parts;
  }

  private static load(app: Application, options: DeclarativeTimeWindowAnalyzerOptions, section: string): Parts {
    // The declaration is needed before the base class reads its config (columns, resolution).
    const declaration = options.declaration ?? app.config.get(section, "declaration") ?? "";
    if (!declaration.trim()) throw new ConfigError(`[${section}] declaration: required (YAML text or a file)`);
    const builder = options.builder ?? new ExpressionBuilder(app, options.library ?? (app.config.get(section, "library") || null));
    const { text, source } = declarationText(declaration, options.configOrigin ? `${options.configOrigin}: declaration` : "<declaration>");
    const { asts, errors } = builder.load(text, source);
    if (errors.length > 0) throw DeclarationError.of(errors);
    const root = asts[0];
    const at = root?.loc ?? { source, line: 1, column: 1 };
    if (root?.kind !== "map") throw new DeclarationError(at, null, "expected a mapping with `define`, `predicate` and `evaluate`");
    const get = (n: Node | undefined, key: string): Node | undefined => (n?.kind === "map" ? n.entries.find((e) => e.key === key)?.value : undefined);
    const define = get(root, "define");
    const dimension = get(define, "dimension");
    if (!dimension) throw new DeclarationError(define?.loc ?? at, null, "`define: dimension:` is required");
    const columns = get(define, "columns");
    const num = (key: string): number | undefined => {
      const n = get(columns, key);
      if (n === undefined) return undefined;
      if (n.kind !== "value" || typeof n.value !== "number" || !(n.value > 0)) throw new DeclarationError(n.loc, null, `columns.${key} must be a positive number`);
      return n.value;
    };
    const item = get(columns, "item");
    const problems: DeclarationError[] = [];
    const compile = (n: Node | undefined): Expression | null => {
      if (n === undefined) return null;
      try {
        // A plain string names the field (BSPump's `columns.item`).
        if (n.kind === "value" && typeof n.value === "string") return builder.compileNode({ kind: "expr", tag: "ITEM", shape: "scalar", scalar: `EVENT ${n.value}`, loc: n.loc });
        return builder.compileNode(n);
      } catch (e) {
        if (!(e instanceof DeclarationError)) throw e;
        problems.push(...e.errors);
        return null;
      }
    };
    const parts = { dimension: compile(dimension)!, time: compile(item), predicate: compile(get(root, "predicate")), evaluate: compile(get(root, "evaluate")), count: num("count"), resolution: num("resolution") };
    if (problems.length > 0) throw DeclarationError.of(problems);
    return parts;
  }

  override predicate(context: EventContext, event: unknown): boolean {
    if (!this.parts.predicate) return true;
    this.scope.context = context;
    return truthy(this.parts.predicate.fn(this.scope, event, undefined));
  }

  override evaluate(context: EventContext, event: unknown): void {
    this.scope.context = context;
    const p = this.parts;
    const cell: Record<string, unknown> = { d: p.dimension.fn(this.scope, event, undefined) };
    if (p.time) cell.t = p.time.fn(this.scope, event, undefined);
    if (p.evaluate) cell.v = p.evaluate.fn(this.scope, event, undefined);
    super.evaluate(context, cell);
  }
}
