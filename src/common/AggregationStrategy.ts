import type { EventContext } from "../core/index.js";

/** How an Aggregator collects events and what one aggregate looks like. */
export interface AggregationStrategy {
  append(context: EventContext, event: unknown): void;
  /** Returns the aggregate and empties the strategy. */
  flush(): unknown;
  isEmpty(): boolean;
}

/** Aggregate = list of `[context, event]` pairs. */
export class ListAggregationStrategy implements AggregationStrategy {
  private items: [EventContext, unknown][] = [];
  append(context: EventContext, event: unknown): void {
    this.items.push([context, event]);
  }
  flush(): unknown {
    const out = this.items;
    this.items = [];
    return out;
  }
  isEmpty(): boolean {
    return this.items.length === 0;
  }
}

/** Aggregate = list of events. */
export class ListEventAggregationStrategy implements AggregationStrategy {
  private items: unknown[] = [];
  append(_context: EventContext, event: unknown): void {
    this.items.push(event);
  }
  flush(): unknown {
    const out = this.items;
    this.items = [];
    return out;
  }
  isEmpty(): boolean {
    return this.items.length === 0;
  }
}

/** Aggregate = the events as strings joined by a delimiter. */
export class StringAggregationStrategy implements AggregationStrategy {
  private parts: string[] = [];
  constructor(private readonly delimiter = "\n") {}
  append(_context: EventContext, event: unknown): void {
    this.parts.push(typeof event === "string" ? event : JSON.stringify(event));
  }
  flush(): unknown {
    const out = this.parts.join(this.delimiter);
    this.parts = [];
    return out;
  }
  isEmpty(): boolean {
    return this.parts.length === 0;
  }
}
