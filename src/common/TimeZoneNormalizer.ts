import { Processor, ConfigError, type Application, type ComponentOptions, type EventContext, type Pipeline, type ConfigSpec, type TypedConfig } from "../core/index.js";

const CONFIG = {
  timezone: { type: "string", default: "CET", doc: "IANA time zone of naive timestamps (e.g. Europe/Prague, CET, UTC)" },
} satisfies ConfigSpec;

/**
 * Interprets naive local date-times in a configured IANA time zone and gives UTC. `normalize()`
 * does the work; subclasses implement `process()` to apply it to their fields.
 */
export abstract class TimeZoneNormalizer extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly timezone: string;
  private readonly format: Intl.DateTimeFormat;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.timezone = this.config.getString("timezone");
    try {
      this.format = new Intl.DateTimeFormat("en-US", {
        timeZone: this.timezone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] timezone: unknown time zone '${this.timezone}'`);
    }
  }

  /**
   * A naive date-time (its wall-clock fields read as UTC fields, as `Date.UTC(...)` or an ISO
   * string without offset gives) in the configured zone → the real instant, in milliseconds.
   */
  normalize(naiveUtcMillis: number): number {
    // The zone offset at the guessed instant, corrected once more for DST boundaries.
    let guess = naiveUtcMillis - this.offsetAt(naiveUtcMillis);
    guess = naiveUtcMillis - this.offsetAt(guess);
    return guess;
  }

  private offsetAt(instant: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(new Date(instant))) if (p.type !== "literal") parts[p.type] = Number(p.value);
    const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    return asUtc - Math.floor(instant / 1000) * 1000;
  }

  abstract override process(context: EventContext, event: unknown): unknown;
}
