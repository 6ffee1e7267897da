import { Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { eventBytes } from "./aes.js";
import { HASHING_CONFIG, hasher, type Hasher, type HashingConfig } from "./hashing.js";

/** BSPump's CoHashingProcessor: puts the digest of the bytes event into `context.hash` and passes the event unchanged. */
export class CoHashingProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = HASHING_CONFIG;
  declare readonly config: HashingConfig;

  private readonly hash: Hasher;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.hash = hasher(this.config);
  }

  process(context: EventContext, event: unknown): unknown {
    context.hash = this.hash(eventBytes(event, `CoHashingProcessor '${this.id}'`));
    return event;
  }
}
