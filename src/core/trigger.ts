import type { Application } from "./application.js";
import type { PubSub } from "./pubsub.js";
import type { TriggerSource } from "./source.js";

export interface TriggerOptions {
  id?: string;
  /** Fire at most this many untriggered sources at a time (chosen at random); default all. */
  maxTriggered?: number;
}

/** Starts cycles of the TriggerSources attached to it. */
export class Trigger {
  readonly id: string;
  readonly sources = new Set<TriggerSource>();
  paused = false;
  lastFireAt = 0;
  private readonly maxTriggered: number | undefined;

  constructor(
    readonly app: Application,
    options: TriggerOptions = {},
  ) {
    // BSPump passed `id` into the max_triggered slot [BUG]; here they are separate options.
    this.id = options.id ?? new.target.name;
    this.maxTriggered = options.maxTriggered;
    if (app.isRunning) queueMicrotask(() => this.activate());
    else app.pubsub.subscribe("Application.run!", () => this.activate());
    app.pubsub.subscribe("Application.stop!", () => this.deactivate());
  }

  add(source: TriggerSource): void {
    this.sources.add(source);
  }

  remove(source: TriggerSource): void {
    this.sources.delete(source);
  }

  /** Called when the application starts running: start timers and subscriptions here. */
  protected activate(): void {}

  /** Called when the application stops. */
  protected deactivate(): void {}

  fire(): void {
    if (this.paused) return;
    this.lastFireAt = this.app.time();
    if (this.maxTriggered === undefined) {
      for (const source of this.sources) source.fire();
      return;
    }
    let triggered = [...this.sources].filter((s) => s.isTriggered).length;
    const idle = [...this.sources].filter((s) => !s.isTriggered);
    while (triggered < this.maxTriggered && idle.length > 0) {
      const pick = idle.splice(Math.floor(Math.random() * idle.length), 1)[0]!;
      pick.fire();
      triggered++;
    }
  }

  /** A source finished a cycle. */
  done(_source: TriggerSource): void {}

  pause(pause = true): void {
    this.paused = pause;
    for (const source of this.sources) source.pipeline.pubsub.publishLater("bspump.trigger.pause!", { pause, trigger: this });
  }
}

/** Fires every `interval` seconds. */
export class PeriodicTrigger extends Trigger {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    app: Application,
    readonly interval = 1.0,
    options: TriggerOptions = {},
  ) {
    super(app, options);
    if (!(interval > 0)) throw new Error(`PeriodicTrigger interval must be > 0 seconds, got ${interval}`);
  }

  protected override activate(): void {
    this.timer ??= setInterval(() => this.fire(), this.interval * 1000);
  }

  protected override deactivate(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Fires on each of the given PubSub messages (on the application's PubSub unless another is given). */
export class PubSubTrigger extends Trigger {
  private readonly messages: string[];
  private readonly bus: PubSub;
  // Accepts any arguments: BSPump's handler took only the message name [BUG].
  private readonly onMessage = (): void => this.fire();

  constructor(app: Application, messageTypes: string | string[], pubsub?: PubSub, options: TriggerOptions = {}) {
    super(app, options);
    this.messages = typeof messageTypes === "string" ? [messageTypes] : messageTypes;
    this.bus = pubsub ?? app.pubsub;
    for (const m of this.messages) this.bus.subscribe(m, this.onMessage);
  }

  protected override deactivate(): void {
    for (const m of this.messages) this.bus.unsubscribe(m, this.onMessage);
  }
}

/** Fires once when the application runs; when the cycle is done, stops the application. */
export class RunOnceTrigger extends Trigger {
  protected override activate(): void {
    this.fire();
  }

  override done(_source: TriggerSource): void {
    this.app.stop();
  }
}

export interface OpportunisticTriggerOptions extends TriggerOptions {
  runImmediately?: boolean;
  /** Seconds between fires, at least. */
  chilldownPeriod?: number;
}

/** Re-runs its sources as often as they finish, but at most once per chilldown period. */
export class OpportunisticTrigger extends Trigger {
  private readonly chilldown: number;
  private readonly runImmediately: boolean;
  private readonly onTick = (): void => this.check();

  constructor(app: Application, options: OpportunisticTriggerOptions = {}) {
    super(app, options);
    this.chilldown = options.chilldownPeriod ?? 5;
    this.runImmediately = options.runImmediately ?? true;
  }

  protected override activate(): void {
    this.app.pubsub.subscribe("Application.tick!", this.onTick);
    if (this.runImmediately) setImmediate(this.onTick);
  }

  protected override deactivate(): void {
    this.app.pubsub.unsubscribe("Application.tick!", this.onTick);
  }

  override done(_source: TriggerSource): void {
    setImmediate(this.onTick);
  }

  override pause(pause = true): void {
    super.pause(pause);
    if (!pause) this.check();
  }

  private check(): void {
    if (this.paused) return;
    if (this.lastFireAt === 0 || this.app.time() >= this.lastFireAt + this.chilldown) this.fire();
  }
}
