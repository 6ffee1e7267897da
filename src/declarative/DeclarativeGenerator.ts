import { Generator, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import type { Expression, Scope } from "./expression/index.js";
import { isDict } from "./expression/py.js";
import { DECLARATION_CONFIG, loadDeclaration, type DeclarativeOptions } from "./declarationSource.js";

/**
 * BSPump's DeclarativeGenerator: evaluates the declaration on each event and injects the result
 * downstream — each element when it is a list (fan-out), the value otherwise; None injects
 * nothing. Promises in the result dict and in the context (async lookups) are awaited first, as
 * BSPump awaited coroutines. (BSPump's generator called the async `parse` without awaiting [BUG];
 * here the declaration is compiled in the constructor.)
 */
export class DeclarativeGenerator extends Generator {
  static override ConfigDefaults: ConfigSpec = DECLARATION_CONFIG;
  declare readonly config: TypedConfig<typeof DECLARATION_CONFIG>;

  readonly expressions: Expression[];

  constructor(app: Application, pipeline: Pipeline, declaration: string | DeclarativeOptions = {}, options: DeclarativeOptions = {}) {
    const opts = typeof declaration === "string" ? { ...options, declaration } : declaration;
    super(app, pipeline, opts);
    this.expressions = loadDeclaration(app, this.config, opts, `pipeline:${pipeline.id}:${this.id}`);
  }

  generate(context: EventContext, event: unknown, depth: number): void | Promise<void> {
    const scope: Scope = { context, kwargs: {} };
    let value = event;
    for (const e of this.expressions) {
      value = e.fn(scope, value, undefined);
      if (value == null) return;
    }
    const pending = promisesIn(value, context);
    if (pending.length === 0) return this.inject(context, value, depth);
    return Promise.all(pending).then(() => this.inject(context, value, depth));
  }

  private inject(context: EventContext, value: unknown, depth: number): void {
    if (Array.isArray(value)) for (const item of value) this.pipeline.inject(context, item, depth);
    else this.pipeline.inject(context, value, depth);
  }
}

/** Replaces each Promise value of the dict and the context by what it resolves to. */
function promisesIn(value: unknown, context: EventContext): Promise<void>[] {
  const out: Promise<void>[] = [];
  for (const d of [value, context]) {
    if (!isDict(d)) continue;
    for (const [k, v] of Object.entries(d)) {
      if (v instanceof Promise) out.push(v.then((r: unknown) => void (d[k] = r)));
    }
  }
  return out;
}
