import { Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { eventBytes } from "./aes.js";
import { HASHING_CONFIG, hasher, type Hasher, type HashingConfig } from "./hashing.js";

/** BSPump's HashingProcessor: bytes → the raw digest bytes (`algorithm`, `digest_size` for BLAKE2). */
export class HashingProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = HASHING_CONFIG;
  declare readonly config: HashingConfig;

  protected readonly hash: Hasher;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.hash = hasher(this.config);
  }

  process(_context: EventContext, event: unknown): Buffer {
    return this.hash(eventBytes(event, `HashingProcessor '${this.id}'`));
  }
}
