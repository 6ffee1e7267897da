import { Sink, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { Router } from "./Router.js";

/**
 * A sink that sends events to other pipelines: override `process()` and call
 * `this.route(context, event, "TargetPipeline.*SourceId")`.
 */
export abstract class RouterSink extends Sink {
  protected readonly router: Router;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.router = new Router(this);
  }

  route(context: EventContext, event: unknown, address: string, copyEvent = true): void {
    this.router.route(context, event, address, copyEvent);
  }

  /** Obsolete BSPump alias of `route`. */
  dispatch(context: EventContext, event: unknown, address: string): void {
    this.route(context, event, address);
  }

  unlocate(address: string): void {
    this.router.unlocate(address);
  }
}
