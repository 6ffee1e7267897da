import type { Pipeline } from "./pipeline.js";

/**
 * A component's throttle on its pipeline (a sink whose backlog is too long): switched on and off
 * at most once each way, whatever the number of calls. `update(high, low)` gives hysteresis:
 * on when `high`, off when `low`, unchanged in between.
 */
export class ThrottleSwitch {
  private on = false;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly who: unknown,
  ) {}

  get active(): boolean {
    return this.on;
  }

  update(high: boolean, low: boolean): void {
    if (!this.on && high) {
      this.on = true;
      this.pipeline.throttle(this.who, true);
    } else if (this.on && low) {
      this.on = false;
      this.pipeline.throttle(this.who, false);
    }
  }

  /** On or off, without hysteresis. */
  set(on: boolean): void {
    this.update(on, !on);
  }
}
