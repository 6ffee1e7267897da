import { Processor, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { compileQuery, type Matcher, type Query } from "../common/query.js";

/** What to do with an event: pass it on, drop it, or a function returning the event to pass (null drops). */
export type FilterAction = "pass" | "drop" | ((context: EventContext, event: unknown) => unknown);

export interface ContentFilterOptions extends ComponentOptions {
  /** A Mongo-style query (BSPump's mongoquery syntax); `{}` matches every event. */
  query?: Query;
  /** What a matching event becomes; default "pass" (BSPump's `on_hit`). */
  onHit?: FilterAction;
  /** What a non-matching event becomes; default "pass" (BSPump's `on_miss`); "drop" makes a drop filter. */
  onMiss?: FilterAction;
}

function action(given: FilterAction | undefined, where: string): ((context: EventContext, event: unknown) => unknown) | null {
  if (given === undefined || given === "pass") return null;
  if (given === "drop") return () => null;
  if (typeof given === "function") return given;
  throw new TypeError(`${where} must be "pass", "drop" or a function, got ${JSON.stringify(given)}`);
}

/**
 * BSPump's ContentFilter: matches each event against a Mongo-style query and hands it to `onHit`
 * or `onMiss` (both pass the event on by default; subclass and override them, or give "drop" or a
 * function as options). The query is checked and compiled once, at construction: a malformed one
 * is a QueryError (a ConfigError) there, not a failure on the first event.
 */
export class ContentFilter extends Processor {
  private readonly match: Matcher;
  private readonly hit: ((context: EventContext, event: unknown) => unknown) | null;
  private readonly miss: ((context: EventContext, event: unknown) => unknown) | null;

  constructor(app: Application, pipeline: Pipeline, options: ContentFilterOptions = {}) {
    super(app, pipeline, options);
    this.match = compileQuery(options.query ?? {}, `[pipeline:${pipeline.id}:${this.id}] query`);
    this.hit = action(options.onHit, `[pipeline:${pipeline.id}:${this.id}] on_hit`);
    this.miss = action(options.onMiss, `[pipeline:${pipeline.id}:${this.id}] on_miss`);
  }

  process(context: EventContext, event: unknown): unknown {
    return this.match(event) ? this.onHit(context, event) : this.onMiss(context, event);
  }

  /** A matching event: return what to pass on (null drops it). */
  onHit(context: EventContext, event: unknown): unknown {
    return this.hit === null ? event : this.hit(context, event);
  }

  /** A non-matching event: return what to pass on (null drops it). */
  onMiss(context: EventContext, event: unknown): unknown {
    return this.miss === null ? event : this.miss(context, event);
  }
}
