import { Processor, type EventContext, type ConfigSpec } from "../core/index.js";
import { makeRandom } from "./prng.js";

/** Drops each event with probability `threshold`. */
export class RandomDrop extends Processor {
  static override ConfigDefaults: ConfigSpec = {
    threshold: { type: "float", default: 0.5, doc: "Probability of dropping an event" },
    seed: { type: "int", default: 0, doc: "Seed for repeatable drops (0 = random)" },
  };

  private readonly threshold = this.config.getFloat("threshold");
  private readonly random = makeRandom(this.config.getInt("seed"));

  process(_context: EventContext, event: unknown): unknown {
    return this.random() < this.threshold ? null : event;
  }
}
