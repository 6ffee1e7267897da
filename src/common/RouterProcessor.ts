import { Processor, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { Router } from "./Router.js";

/**
 * A processor that sends (copies of) events to other pipelines and may pass them on: override
 * `process()` and call `this.route(context, event, "TargetPipeline.*SourceId")`.
 */
export abstract class RouterProcessor extends Processor {
  protected readonly router: Router;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.router = new Router(this);
  }

  route(context: EventContext, event: unknown, address: string, copyEvent = true): void {
    this.router.route(context, event, address, copyEvent);
  }

  unlocate(address: string): void {
    this.router.unlocate(address);
  }
}
