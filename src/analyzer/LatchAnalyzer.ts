import type { Application, ConfigSpec, TypedConfig, EventContext, Pipeline } from "../core/index.js";
import { Analyzer, type AnalyzerOptions } from "./Analyzer.js";
import { compileQuery, type Query } from "../common/query.js";

// One query language for the filter and analyzer families: the compiler lives in the common base.
export { QueryError, matchQuery, validateQuery, compileQuery, type Query } from "../common/query.js";

export interface LatchAnalyzerOptions extends AnalyzerOptions {
  /** true: latch everything; false: nothing; a query or a predicate function. */
  query?: boolean | Query | ((event: unknown) => boolean);
  /** BSPump's quirk, kept: latch when `match(event) != inclusive`, i.e. with true the NON-matching events. */
  inclusive?: boolean;
}

const CONFIG = {
  latch_max_size: { type: "int", default: 50, doc: "Events kept (0: unbounded)" },
} satisfies ConfigSpec;

/**
 * BSPump's LatchAnalyzer: keeps the last `latch_max_size` events (0: unbounded) that the query
 * selects, as a debugging window into a stream; events always pass through. Read `latch`.
 */
export class LatchAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  private readonly maxSize: number;
  private readonly test: (event: unknown) => boolean;
  private buffer: unknown[] = [];

  constructor(app: Application, pipeline: Pipeline, options: LatchAnalyzerOptions = {}) {
    super(app, pipeline, options);
    this.maxSize = this.config.getInt("latch_max_size");
    const query = options.query ?? true;
    const inclusive = options.inclusive ?? false;
    if (query === true) this.test = () => true;
    else if (query === false) this.test = () => false;
    else if (typeof query === "function") this.test = query;
    else {
      const match = compileQuery(query, `[pipeline:${pipeline.id}:${this.id}] query`);
      this.test = inclusive ? (event) => !match(event) : match;
    }
  }

  override predicate(_context: EventContext, event: unknown): boolean {
    return this.test(event);
  }

  override evaluate(_context: EventContext, event: unknown): void {
    this.buffer.push(event);
    if (this.maxSize > 0 && this.buffer.length > this.maxSize) this.buffer.shift();
  }

  /** The latched events, oldest first. */
  get latch(): readonly unknown[] {
    return this.buffer;
  }

  clear(): void {
    this.buffer = [];
  }
}
