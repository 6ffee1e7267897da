import { Processor, type Application, type ComponentOptions, type EventContext, type Pipeline, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { makeRandom, randint } from "./prng.js";

export interface RandomEnricherOptions extends ComponentOptions {
  choice?: readonly unknown[];
}

const CONFIG = {
  field: { type: "string", default: "enriched_field", doc: "Field to set" },
  lower_bound: { type: "int", default: 0, doc: "Smallest random integer" },
  upper_bound: { type: "int", default: 1000, doc: "Largest random integer (inclusive)" },
  seed: { type: "int", default: 0, doc: "Seed for repeatable values (0 = random)" },
} satisfies ConfigSpec;

/** Sets `event[field]` to a random choice or integer; override `generateRandom` for other values. */
export class RandomEnricher extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly field: string;
  private readonly lower: number;
  private readonly upper: number;
  protected readonly random: () => number;
  private readonly choice: readonly unknown[] | undefined;

  constructor(app: Application, pipeline: Pipeline, options: RandomEnricherOptions = {}) {
    super(app, pipeline, options);
    this.field = this.config.getString("field");
    this.lower = this.config.getInt("lower_bound");
    this.upper = this.config.getInt("upper_bound");
    this.random = makeRandom(this.config.getInt("seed"));
    this.choice = options.choice;
  }

  generateRandom(): unknown {
    return this.choice ? this.choice[Math.floor(this.random() * this.choice.length)] : randint(this.random, this.lower, this.upper);
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null) throw new TypeError("RandomEnricher expects an object event");
    (event as Record<string, unknown>)[this.field] = this.generateRandom();
    return event;
  }
}
