import { randomBytes } from "node:crypto";
import { Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline, type TypedConfig } from "../core/index.js";
import { bytesToBase64, INTEGRITY_CONFIG, integrityDigest, integrityText, isRecord, type IntegrityDigest } from "./integrityHash.js";

const CONFIG = {
  ...INTEGRITY_CONFIG,
  salt_length: { type: "int", default: 3, min: 0, doc: "Random bytes of the salt `_s` (URL-safe base64: 3 bytes → 4 characters)" },
} satisfies ConfigSpec;

/**
 * BSPump's IntegrityEnricher: chains the events by hash. For each (dict) event: the old `hash_key`
 * is removed, a random salt goes into `_s`, the previous event's hash into `prev_hash_key` (removed
 * in the first event), and the hex digest of Python's `json.dumps(event)` into `hash_key` — the
 * algorithm IntegrityVerifier and `bsintegrity` check. Bytes values are replaced by their base64
 * text first (BSPump crashed on them). An event that is not a dict is an error of the pipeline's
 * error rules. The chain restarts (no `prev_hash_key`) when the pump restarts.
 */
export class IntegrityEnricher extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly hashKey: string;
  readonly prevHashKey: string;
  readonly saltLength: number;
  private readonly digest: IntegrityDigest;
  /** The hash of the last event enriched; null before the first. */
  previousHash: string | null = null;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.digest = integrityDigest(this.config.getString("algorithm"), this.config.where("algorithm"));
    this.hashKey = this.config.getString("hash_key");
    this.prevHashKey = this.config.getString("prev_hash_key");
    this.saltLength = this.config.getInt("salt_length");
  }

  process(_context: EventContext, event: unknown): unknown {
    if (!isRecord(event)) throw new TypeError(`IntegrityEnricher '${this.id}': the event must be a dict (an object), got ${Array.isArray(event) ? "an array" : typeof event}`);
    bytesToBase64(event);
    delete event[this.hashKey];
    // secrets.token_urlsafe(n): n random bytes in unpadded URL-safe base64.
    event._s = randomBytes(this.saltLength).toString("base64url");
    if (this.previousHash === null) delete event[this.prevHashKey];
    else event[this.prevHashKey] = this.previousHash;
    const hash = this.digest(integrityText(event, this.hashKey));
    event[this.hashKey] = hash;
    this.previousHash = hash;
    return event;
  }
}
