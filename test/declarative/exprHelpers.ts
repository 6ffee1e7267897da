import { ExpressionBuilder } from "../../src/declarative/index.js";
import type { Application, EventContext } from "../../src/core/index.js";

/** Evaluates the first expression of `decl` (a `---` is prepended) on `event`, optimized or not. */
export function evaluate(decl: string, event: unknown = {}, context: EventContext = {}, opts: { optimize?: boolean; builder?: ExpressionBuilder; arg?: unknown } = {}): unknown {
  const builder = opts.builder ?? new ExpressionBuilder(null);
  const [e] = builder.parse(`---\n${decl}`, "test.yaml", { optimize: opts.optimize ?? true });
  return e!.call(context, event, opts.arg);
}

/** Both forms must agree; returns the result. */
export function both(decl: string, event: unknown = {}, context: EventContext = {}, builder?: ExpressionBuilder): unknown {
  const a = evaluate(decl, structuredClone(event), { ...context }, { optimize: false, builder });
  const b = evaluate(decl, structuredClone(event), { ...context }, { optimize: true, builder });
  if (JSON.stringify(a, big) !== JSON.stringify(b, big)) throw new Error(`optimized ${JSON.stringify(b, big)} != unoptimized ${JSON.stringify(a, big)} for ${decl}`);
  return b;
}

const big = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? `${v}n` : v instanceof Set ? [...v] : v);

export function appless(app?: Application): ExpressionBuilder {
  return new ExpressionBuilder(app ?? null);
}
