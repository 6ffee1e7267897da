import { Processor, type Application, type ComponentOptions, type ConfigSpec, type Counter, type EventContext, type Pipeline, type TypedConfig } from "../core/index.js";
import { INTEGRITY_CONFIG, integrityDigest, integrityText, isRecord, type IntegrityDigest } from "./integrityHash.js";

const CONFIG = {
  ...INTEGRITY_CONFIG,
  check_chain: { type: "bool", default: true, doc: "Check that each event's `prev_hash_key` is the hash of the event before it (in the order they arrive)" },
  on_broken: {
    type: "string",
    default: "error",
    choices: ["error", "mark", "drop"],
    doc: "A broken event: error (an IntegrityError through the pipeline's error rules: counted, dead-lettered), mark (`context.integrity` says why, the event passes), drop",
  },
} satisfies ConfigSpec;

/** Why an event failed verification. */
export type IntegrityFailure = "no_hash" | "broken_hash" | "chain_break";

/** An event whose hash or chain link does not verify. */
export class IntegrityError extends Error {
  override name = "IntegrityError";
  constructor(
    readonly reason: IntegrityFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks events made by IntegrityEnricher (or BSPump's), in the order they arrive: the hash under
 * `hash_key` must be the digest of the rest of the event (integrityHash.ts, the one algorithm), and
 * `prev_hash_key` the hash of the event before. An event without `prev_hash_key` starts a new chain
 * (the enricher restarted); the first event seen may follow an event not seen. Counts in the
 * `integrity.verifier` metric (verified, no_hash, broken_hash, chain_break, chains).
 * Events read back from a store in another order (a search without sort) are checked by
 * `bsintegrity`, which follows the links instead.
 */
export class IntegrityVerifier extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly hashKey: string;
  readonly prevHashKey: string;
  private readonly digest: IntegrityDigest;
  private readonly checkChain: boolean;
  private readonly onBroken: string;
  /** The stored hash of the last event seen; undefined before the first. */
  private previousHash: string | undefined = undefined;
  readonly counter: Counter;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.digest = integrityDigest(this.config.getString("algorithm"), this.config.where("algorithm"));
    this.hashKey = this.config.getString("hash_key");
    this.prevHashKey = this.config.getString("prev_hash_key");
    this.checkChain = this.config.getBool("check_chain");
    this.onBroken = this.config.getString("on_broken");
    this.counter = app.metrics.createCounter("integrity.verifier", { pipeline: pipeline.id, processor: this.id }, ["verified", "no_hash", "broken_hash", "chain_break", "chains"]);
  }

  /**
   * Why `event` does not verify, or null when it does; advances the chain. With `hash_key` `_id`
   * and no such field, the hash is the document id an ElasticSearchSource put in `context.es_hit`.
   */
  check(event: unknown, context?: EventContext): IntegrityError | null {
    if (!isRecord(event)) return new IntegrityError("no_hash", `the event is not a dict`);
    let stored = event[this.hashKey];
    if (stored === undefined && this.hashKey === "_id") stored = (context?.es_hit as { id?: unknown } | undefined)?.id;
    if (typeof stored !== "string") return new IntegrityError("no_hash", `the event has no '${this.hashKey}'`);
    const previous = this.previousHash;
    this.previousHash = stored;
    const computed = this.digest(integrityText(event, this.hashKey));
    if (computed !== stored) return new IntegrityError("broken_hash", `event ${stored}: its content hashes to ${computed}`);
    if (!this.checkChain) return null;
    const link = event[this.prevHashKey];
    if (link === undefined) {
      this.counter.add("chains");
      return null;
    }
    if (previous !== undefined && link !== previous) return new IntegrityError("chain_break", `event ${stored} follows ${String(link)}, but the event before it was ${previous}`);
    return null;
  }

  process(context: EventContext, event: unknown): unknown {
    const failure = this.check(event, context);
    if (failure === null) {
      this.counter.add("verified");
      return event;
    }
    this.counter.add(failure.reason);
    if (this.onBroken === "error") throw failure;
    if (this.onBroken === "drop") return null;
    context.integrity = failure.reason;
    return event;
  }
}
