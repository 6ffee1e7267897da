import { Processor, type EventContext, type ConfigSpec, type TypedConfig, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import { makeRandom } from "./prng.js";

const CONFIG = {
  threshold: { type: "float", default: 0.5, doc: "Probability of dropping an event" },
  seed: { type: "int", default: 0, doc: "Seed for repeatable drops (0 = random)" },
} satisfies ConfigSpec;

/** Drops each event with probability `threshold`. */
export class RandomDrop extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly threshold: number;
  private readonly random: () => number;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.threshold = this.config.getFloat("threshold");
    this.random = makeRandom(this.config.getInt("seed"));
  }

  process(_context: EventContext, event: unknown): unknown {
    return this.random() < this.threshold ? null : event;
  }
}
