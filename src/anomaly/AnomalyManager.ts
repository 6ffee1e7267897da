import { ConfigError, Processor, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Counter, type EventContext, type Pipeline } from "../core/index.js";
import type { AnomalyClass, AnomalyDocument } from "./Anomaly.js";
import { AnomalyStorage } from "./AnomalyStorage.js";
import { badSymptom } from "./badSymptom.js";

export interface AnomalyManagerOptions extends ComponentOptions {
  /** The storage (default: the one named by `anomaly_storage`, made when there is none). */
  anomalyStorage?: AnomalyStorage;
  /** Anomaly classes by `TYPE`, added to the storage. */
  anomalyClasses?: AnomalyClass[];
}

const ANOMALY_RESERVED = new Set(["@timestamp", "type", "status", "symptoms", "key", "ts_end", "D", "symptoms_dropped"]);

const CONFIG = {
  anomaly_storage: { type: "string", default: "AnomalyStorage", doc: "Id of the AnomalyStorage (its section [<id>]); made with that config when none exists" },
  max_symptoms: { type: "int", default: 1000, doc: "Symptoms kept per anomaly, the latest; older ones are dropped and counted in the anomaly's symptoms_dropped (0: all, as BSPump)" },
} satisfies ConfigSpec;

/**
 * BSPump's AnomalyManager, a Processor after AnomalyAnalyzer: groups keyed symptoms into
 * anomalies. A symptom whose key has no open anomaly opens one (the class whose `TYPE` is the
 * symptom's type, else GeneralAnomaly) with the symptom's `@timestamp`, `type`, `status: "open"`,
 * `key`, the key dimensions copied to the top level and `symptoms: []`; the symptom is then
 * appended to the open anomaly. The event passes on unchanged.
 *
 * A malformed event (not what AnomalyAnalyzer emits) is bad input: counted in `anomaly.manager`
 * (`timestamp.miss`, `key.miss`, `key.dimensions.miss`, `type.miss`, `symptom.miss`), a pipeline
 * warning, dead-lettered when the pipeline has a target, otherwise dropped (as BSPump).
 */
export class AnomalyManager extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly storage: AnomalyStorage;
  readonly counter: Counter;
  readonly maxSymptoms: number;

  constructor(app: Application, pipeline: Pipeline, options: AnomalyManagerOptions = {}) {
    super(app, pipeline, options);
    const id = this.config.getString("anomaly_storage");
    const given: unknown = options.anomalyStorage;
    if (given !== undefined && !(given instanceof AnomalyStorage)) throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] anomalyStorage must be an AnomalyStorage (in a definition, name it with the config key anomaly_storage)`);
    this.storage = given ?? AnomalyStorage.locate(app, id) ?? new AnomalyStorage(app, { id });
    for (const c of options.anomalyClasses ?? []) this.storage.addClass(c);
    this.maxSymptoms = this.config.getInt("max_symptoms");
    if (this.maxSymptoms < 0) throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] max_symptoms must be ≥ 0`);
    this.counter = app.metrics.createCounter("anomaly.manager", { pipeline: pipeline.id, manager: this.id }, ["anomalies.opened", "symptoms", "timestamp.miss", "key.miss", "key.dimensions.miss", "type.miss", "symptom.miss"]);
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null || Array.isArray(event)) return this.bad("symptom.miss", "the event is not an object");
    const e = event as Record<string, unknown>;
    const ts = e["@timestamp"];
    if (typeof ts !== "number" || !Number.isFinite(ts)) return this.bad("timestamp.miss", "no numeric '@timestamp'");
    const key = e.key;
    if (typeof key !== "string" || key === "") return this.bad("key.miss", "no 'key'");
    const dims = e.key_dimensions;
    if (typeof dims !== "object" || dims === null || Array.isArray(dims)) return this.bad("key.dimensions.miss", "no 'key_dimensions' object");
    const type = e.type;
    if (typeof type !== "string" || type === "") return this.bad("type.miss", "no 'type'");
    const symptom = e.symptom;
    if (typeof symptom !== "object" || symptom === null || Array.isArray(symptom)) return this.bad("symptom.miss", "no 'symptom' object");

    let anomaly = this.storage.open.get(key);
    if (anomaly === undefined) {
      const doc: AnomalyDocument = { "@timestamp": ts, type, status: "open", key, symptoms: [] };
      // The key dimensions at the top level, except where they would overwrite the anomaly's own fields.
      for (const [d, v] of Object.entries(dims)) if (!ANOMALY_RESERVED.has(d)) doc[d] = v;
      anomaly = this.storage.create(doc);
      this.counter.values["anomalies.opened"]!++;
    }
    const list = anomaly.doc.symptoms;
    list.push(symptom as Record<string, unknown>);
    this.counter.values.symptoms!++;
    // A bound on memory and document size for an anomaly that never closes.
    if (this.maxSymptoms > 0 && list.length > this.maxSymptoms) {
      list.splice(0, list.length - this.maxSymptoms);
      anomaly.doc.symptoms_dropped = (typeof anomaly.doc.symptoms_dropped === "number" ? anomaly.doc.symptoms_dropped : 0) + 1;
    }
    return event;
  }

  private bad(field: string, message: string): null {
    badSymptom(this, this.counter, field, `malformed anomaly event: ${message}`);
    return null;
  }

  override start(): void {
    super.start();
    this.storage.attach(this);
  }

  /** The pipeline stops: a last flush while the storage pipeline (downstream) still runs. */
  override async stop(): Promise<void> {
    this.storage.flush();
  }
}
