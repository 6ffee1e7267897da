import { TriggerSource, type Application, type ComponentOptions, type Pipeline, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { makeRandom, randint } from "./prng.js";

export interface RandomSourceOptions extends ComponentOptions {
  /** Values to choose from; without it, integers in [lower_bound, upper_bound]. */
  choice?: readonly unknown[];
}

const CONFIG = {
  field: { type: "string", default: "", doc: "Wrap each value as {field: value}" },
  number: { type: "int", default: 1000, doc: "Events per cycle" },
  lower_bound: { type: "int", default: 0, doc: "Smallest random integer" },
  upper_bound: { type: "int", default: 1000, doc: "Largest random integer (inclusive)" },
  event_idle_time: { type: "float", default: 0.01, doc: "Seconds to pause after every events_till_idle events" },
  events_till_idle: { type: "int", default: 10000, doc: "Events between pauses" },
  seed: { type: "int", default: 0, doc: "Seed for repeatable values (0 = random)" },
} satisfies ConfigSpec;

/** Emits `number` random values per trigger cycle (wrapped as `{field: value}` when `field` is set). */
export class RandomSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly choice: readonly unknown[] | undefined;
  private readonly random: () => number;

  constructor(app: Application, pipeline: Pipeline, options: RandomSourceOptions = {}) {
    super(app, pipeline, options);
    this.choice = options.choice;
    this.random = makeRandom(this.config.getInt("seed"));
  }

  async cycle(): Promise<void> {
    const field = this.config.getString("field");
    const lower = this.config.getInt("lower_bound");
    const upper = this.config.getInt("upper_bound");
    const idleEvery = Math.max(1, this.config.getInt("events_till_idle"));
    const idle = this.config.getFloat("event_idle_time");
    const number = this.config.getInt("number");
    for (let i = 0; i < number; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      const value = this.choice ? this.choice[Math.floor(this.random() * this.choice.length)] : randint(this.random, lower, upper);
      this.pipeline.process(field ? { [field]: value } : value);
      if ((i + 1) % idleEvery === 0 && idle > 0 && !(await this.sleep(idle))) return;
    }
  }
}
