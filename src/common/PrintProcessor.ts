import { Processor, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { formatPlain, type PrintOptions } from "./print.js";

/** Prints each event and passes it on (stdout unless `stream` is given). */
export class PrintProcessor extends Processor {
  private readonly stream: NodeJS.WritableStream;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions & PrintOptions = {}) {
    super(app, pipeline, options);
    this.stream = options.stream ?? process.stdout;
  }

  protected format(value: unknown): string {
    return formatPlain(value);
  }

  /** What gets printed: the event here, the context in the *Context* variants. */
  protected printed(_context: EventContext, event: unknown): unknown {
    return event;
  }

  process(context: EventContext, event: unknown): unknown {
    this.stream.write(this.format(this.printed(context, event)) + "\n");
    return event;
  }
}
