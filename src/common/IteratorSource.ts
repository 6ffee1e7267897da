import { TriggerSource, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";

/**
 * Hands over every item of an iterable, once per trigger cycle (a one-shot iterator is empty after
 * the first cycle; pass an array or a generator function to replay).
 */
export class IteratorSource extends TriggerSource {
  constructor(
    app: Application,
    pipeline: Pipeline,
    private readonly iterable: Iterable<unknown> | AsyncIterable<unknown> | (() => Iterable<unknown> | AsyncIterable<unknown>),
    options: ComponentOptions = {},
  ) {
    super(app, pipeline, options);
  }

  async cycle(): Promise<void> {
    const source = typeof this.iterable === "function" ? this.iterable() : this.iterable;
    if (Symbol.iterator in source) {
      for (const item of source) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        this.pipeline.process(item);
      }
      return;
    }
    for await (const item of source) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(item);
    }
  }
}
