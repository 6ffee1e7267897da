import type { EventContext, Pipeline, ProcessorBase, Subscriber } from "../core/index.js";
import { InternalSource } from "./InternalSource.js";

interface Target {
  source: InternalSource;
  unsubscribe: () => void;
}

/**
 * Routing between pipelines, shared by RouterSink, RouterProcessor and TeeProcessor (BSPump's
 * RouterMixIn). A located target throttles the routing pipeline while the target pipeline is not
 * ready or its InternalSource is back-pressured, so a slow consumer slows the producer.
 */
export class Router {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly owner: ProcessorBase) {}

  private get pipeline(): Pipeline {
    return this.owner.pipeline;
  }

  /** Resolves `"Pipeline.*SourceId"` to its InternalSource (cached); throws when there is none. */
  locate(address: string): InternalSource {
    const known = this.targets.get(address);
    if (known) return known.source;
    const service = this.owner.app.pumpServiceOrNull();
    const found = service?.locate(address);
    if (!(found instanceof InternalSource)) {
      throw new Error(`Router '${this.owner.locateAddress()}': '${address}' is not an InternalSource (use "Pipeline.*SourceId")`);
    }
    const source = found;
    const target = source.pipeline;
    const own = this.pipeline;
    const onNotReady: Subscriber = () => own.throttle(target, true);
    const onReady: Subscriber = () => own.throttle(target, false);
    const onPressure: Subscriber = (_m, arg) => {
      if ((arg as { source?: unknown })?.source === source) own.throttle(source, true);
    };
    const onRelief: Subscriber = (_m, arg) => {
      if ((arg as { source?: unknown })?.source === source) own.throttle(source, false);
    };
    target.pubsub.subscribe("bspump.pipeline.not_ready!", onNotReady);
    target.pubsub.subscribe("bspump.pipeline.ready!", onReady);
    target.pubsub.subscribe("bspump.InternalSource.backpressure_on!", onPressure);
    target.pubsub.subscribe("bspump.InternalSource.backpressure_off!", onRelief);
    if (!target.isReady()) own.throttle(target, true);
    if (source.backPressure) own.throttle(source, true);
    own.addDownstream(target);
    this.targets.set(address, {
      source,
      unsubscribe: () => {
        target.pubsub.unsubscribe("bspump.pipeline.not_ready!", onNotReady);
        target.pubsub.unsubscribe("bspump.pipeline.ready!", onReady);
        target.pubsub.unsubscribe("bspump.InternalSource.backpressure_on!", onPressure);
        target.pubsub.unsubscribe("bspump.InternalSource.backpressure_off!", onRelief);
        own.throttle(target, false);
        own.throttle(source, false);
      },
    });
    return source;
  }

  /**
   * Sends an event to `"Pipeline.*SourceId"`. The event is deep-copied by default, so routing one
   * event to several targets gives each its own. Never drops: when the target queue is full the
   * event still goes in, and the back-pressure throttle stops the next ones.
   */
  route(context: EventContext, event: unknown, address: string, copyEvent = true): void {
    this.locate(address).putEvenIfFull(context, event, false, copyEvent);
  }

  unlocate(address: string): void {
    this.targets.get(address)?.unsubscribe();
    this.targets.delete(address);
  }
}
