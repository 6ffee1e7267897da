import { Sink, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { formatPlain, type PrintOptions } from "./print.js";

/** Prints each event, then consumes it (stdout unless `stream` is given). */
export class PrintSink extends Sink {
  private readonly stream: NodeJS.WritableStream;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions & PrintOptions = {}) {
    super(app, pipeline, options);
    this.stream = options.stream ?? process.stdout;
  }

  protected format(value: unknown): string {
    return formatPlain(value);
  }

  process(_context: EventContext, event: unknown): null {
    this.stream.write(this.format(event) + "\n");
    return null;
  }
}
