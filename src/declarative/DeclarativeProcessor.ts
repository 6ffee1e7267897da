import { Processor, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import type { Expression, Fn, Scope } from "./expression/index.js";
import { DECLARATION_CONFIG, loadDeclaration, type DeclarativeOptions } from "./declarationSource.js";

/**
 * Runs a declaration on every event (BSPump's DeclarativeProcessor): each top-level expression
 * (YAML document) in turn, each output the next one's input; a None result consumes the event.
 * The declaration is parsed, optimized and compiled to closures in the constructor — a bad one is
 * a DeclarationError naming file, line and column at build time (`bspump check`), not at the
 * first event; there is no `initialize()` to forget. An expression failing on an event (a type
 * error, a missing lookup) throws, which the pipeline's error rules handle.
 */
export class DeclarativeProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = DECLARATION_CONFIG;
  declare readonly config: TypedConfig<typeof DECLARATION_CONFIG>;

  readonly expressions: Expression[];
  private readonly fns: Fn[];
  // One scope for every event: process() is synchronous, so it is never shared by two events.
  private readonly scope: Scope = { context: {}, kwargs: {} };

  constructor(app: Application, pipeline: Pipeline, declaration: string | DeclarativeOptions = {}, options: DeclarativeOptions = {}) {
    const opts = typeof declaration === "string" ? { ...options, declaration } : declaration;
    super(app, pipeline, opts);
    this.expressions = loadDeclaration(app, this.config, opts, `pipeline:${pipeline.id}:${this.id}`);
    this.fns = this.expressions.map((e) => e.fn);
  }

  /** BSPump's processor must be initialized by the user; this one is ready when constructed. */
  async initialize(): Promise<void> {}

  process(context: EventContext, event: unknown): unknown {
    const scope = this.scope;
    scope.context = context;
    let value = event;
    for (let i = 0; i < this.fns.length; i++) {
      value = this.fns[i]!(scope, value, undefined);
      // BSPump also drops a falsy result ({}, 0, ""); only None drops the event here.
      if (value === null || value === undefined) return null;
    }
    return value;
  }
}
