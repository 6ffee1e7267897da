import { ConfigError, Generator, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Counter, type EventContext, type Pipeline } from "../core/index.js";
import { badSymptom } from "./badSymptom.js";

/** What AnomalyAnalyzer emits for each symptom, and what AnomalyManager expects. */
export interface KeyedSymptom {
  "@timestamp": number;
  key: string;
  key_dimensions: Record<string, unknown>;
  type: string;
  symptom: Record<string, unknown>;
}

const CONFIG = {
  key_dimensions: { type: "string", default: "default:user_id", doc: "Key dimensions per symptom type: 'type1:dim1,dim2;type2:dim1' (the 'default' entry for other types)" },
} satisfies ConfigSpec;

/**
 * BSPump's AnomalyAnalyzer, a Generator: gives each symptom (an event with a numeric `@timestamp`,
 * a `type` and some dimensions) a key, and injects
 * `{"@timestamp", key, key_dimensions: {dim: value}, type, symptom: <the symptom>}` for the
 * AnomalyManager. The dimensions come from `key_dimensions` by the symptom's `type`, else the
 * `default` entry; the key is the values of the dimensions present, then the type.
 *
 * Bad input — not an object, no numeric `@timestamp` (BSPump dropped a string one silently), no key
 * dimension present — is counted in `anomaly.analyzer` (`timestamp.miss`, `key.dimensions.miss`),
 * is a pipeline warning and goes to the dead-letter target when the pipeline has one.
 */
export class AnomalyAnalyzer extends Generator {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  /** Dimensions per symptom type. */
  readonly keyDimensions: ReadonlyMap<string, readonly string[]>;
  readonly counter: Counter;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.keyDimensions = parseKeyDimensions(this.config.getString("key_dimensions"), `[pipeline:${pipeline.id}:${this.id}] key_dimensions`);
    this.counter = app.metrics.createCounter("anomaly.analyzer", { pipeline: pipeline.id, analyzer: this.id }, ["symptoms", "timestamp.miss", "key.dimensions.miss"]);
  }

  generate(context: EventContext, event: unknown, depth: number): void {
    if (typeof event !== "object" || event === null || Array.isArray(event)) return badSymptom(this, this.counter, "key.dimensions.miss", "a symptom must be an object");
    const symptom = event as Record<string, unknown>;
    const ts = symptom["@timestamp"];
    if (typeof ts !== "number" || !Number.isFinite(ts)) return badSymptom(this, this.counter, "timestamp.miss", `symptom has no numeric '@timestamp' (${ts === undefined ? "missing" : JSON.stringify(ts)})`);
    const type = typeof symptom.type === "string" && symptom.type !== "" ? symptom.type : "default";
    const dims = this.keyDimensions.get(type) ?? this.keyDimensions.get("default") ?? [];
    const keyDimensions: Record<string, unknown> = {};
    let key = "";
    for (const d of dims) {
      const v = symptom[d];
      if (v === undefined || v === null) continue;
      keyDimensions[d] = v;
      key += typeof v === "string" ? v : JSON.stringify(v);
    }
    if (key === "") return badSymptom(this, this.counter, "key.dimensions.miss", `symptom of type '${type}' has none of its key dimensions (${dims.join(", ")})`);
    this.counter.values.symptoms!++;
    const out: KeyedSymptom = { "@timestamp": ts, key: key + type, key_dimensions: keyDimensions, type, symptom };
    this.pipeline.inject(context, out, depth);
  }
}

/** Parses "type1:dim1,dim2;type2:dim1". */
export function parseKeyDimensions(raw: string, where: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of raw.split(";")) {
    if (part.trim() === "") continue;
    const colon = part.indexOf(":");
    const type = part.slice(0, colon).trim();
    const dims = part
      .slice(colon + 1)
      .split(",")
      .map((d) => d.trim())
      .filter((d) => d !== "");
    if (colon < 1 || dims.length === 0) throw new ConfigError(`${where}: '${part.trim()}' is not 'type:dim1,dim2'`);
    out.set(type, dims);
  }
  if (out.size === 0) throw new ConfigError(`${where}: no key dimensions`);
  return out;
}
