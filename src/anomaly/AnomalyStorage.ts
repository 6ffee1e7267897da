import { Router } from "../common/Router.js";
import { ConfigError, ConfigObject, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Counter, type ProcessorBase } from "../core/index.js";
import type { Anomaly, AnomalyClass, AnomalyDocument } from "./Anomaly.js";
import { GeneralAnomaly } from "./GeneralAnomaly.js";

/** One stored anomaly document as a search returns it. */
export interface StoredAnomaly {
  _id: string;
  _source: Record<string, unknown>;
}

/**
 * Reads the open anomalies at start: gets BSPump's query body and the `index` pattern, returns
 * the hits (e.g. `(await connection.client.json("POST", `${index}/_search?ignore_unavailable=true`, body)).hits.hits`).
 * A function, because the anomaly family does not import the Elasticsearch family.
 */
export type AnomalyLoader = (body: Record<string, unknown>, index: string) => Promise<StoredAnomaly[]>;

export interface AnomalyStorageOptions extends ComponentOptions {
  /** Classes by `TYPE` (GeneralAnomaly for the other types). */
  anomalyClasses?: AnomalyClass[];
  /** Loads the open anomalies before the first symptom is processed. */
  load?: AnomalyLoader;
}

const storages = new WeakMap<Application, Map<string, AnomalyStorage>>();
/** Lines logged about an unreachable storage pipeline before the rest are only counted. */
const ROUTE_LOG_LIMIT = 5;

const CONFIG = {
  closed_anomaly_longevity: { type: "float", default: 5, doc: "Seconds a closed anomaly is kept (and sent again on each flush) after it closed" },
  index: { type: "string", default: "bs_anomaly*", doc: "Index pattern the open anomalies are loaded from at start (with a `load` function)" },
  anomaly_storage_pipeline_source: { type: "string", default: "AnomalyStoragePipeline.*InternalSource", doc: "InternalSource of the pipeline that stores the anomalies" },
  flush_period: { type: "float", default: 300, doc: "Seconds between flushes (BSPump: every 300 ticks)" },
} satisfies ConfigSpec;

/**
 * BSPump's AnomalyStorage (section `[<id>]`, default `[AnomalyStorage]`): the open anomalies by
 * key and the recently closed ones. Every `flush_period` seconds (BSPump: every 300 ticks) and when
 * its AnomalyManager's pipeline stops, it ticks every open anomaly (closing the ones that are
 * over), then sends every closed anomaly and every open one, as documents, to the InternalSource
 * `anomaly_storage_pipeline_source` — the storage pipeline, which ends in an ElasticSearchSink
 * (`id_field: _id`: one document per anomaly, updated in place from open to closed). Closed
 * anomalies are forgotten `closed_anomaly_longevity` seconds after they closed.
 *
 * Documents carry `@timestamp` and `ts_end` in epoch milliseconds (map them as `date`), in memory
 * they are seconds; the document id is `<key>@<first symptom's time>` (BSPump used the key, so a
 * new anomaly of the same key overwrote the document of the closed one).
 *
 * When the storage pipeline cannot be found, the anomalies stay in memory for the next flush and
 * an error is logged (BSPump returned with its pipeline still throttled).
 */
export class AnomalyStorage extends ConfigObject {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  /** Open anomalies by key. */
  readonly open = new Map<string, Anomaly>();
  /** Closed anomalies by document id, until `closed_anomaly_longevity` passed. */
  readonly closed = new Map<string, Anomaly>();
  readonly counter: Counter;
  readonly longevity: number;
  readonly address: string;
  private readonly classes = new Map<string, AnomalyClass>();
  private readonly loader: AnomalyLoader | undefined;
  private router: Router | null = null;
  private loading: Promise<void> | null = null;
  private sinceFlush = 0;
  private routeErrors = 0;

  constructor(app: Application, options: AnomalyStorageOptions = {}) {
    super(app, (id) => id, { ...options, id: options.id ?? "AnomalyStorage" });
    const known = storages.get(app) ?? new Map<string, AnomalyStorage>();
    if (known.has(this.id)) throw new ConfigError(`[${this.id}] an AnomalyStorage with this id exists already`);
    known.set(this.id, this);
    storages.set(app, known);
    this.longevity = this.config.getFloat("closed_anomaly_longevity");
    this.address = this.config.getString("anomaly_storage_pipeline_source");
    const period = this.config.getFloat("flush_period");
    if (!(period > 0)) throw new ConfigError(`[${this.id}] flush_period must be > 0`);
    this.loader = options.load;
    for (const c of options.anomalyClasses ?? []) this.addClass(c);
    this.counter = app.metrics.createCounter("anomaly.storage", { storage: this.id }, ["anomalies.closed.flushed", "anomalies.open.flushed", "anomalies.loaded"]);
    app.pubsub.subscribe("Application.tick!", () => {
      if (++this.sinceFlush >= period) this.flush();
    });
  }

  /** The storage with this id, if one was made for the application. */
  static locate(app: Application, id = "AnomalyStorage"): AnomalyStorage | undefined {
    return storages.get(app)?.get(id);
  }

  addClass(c: AnomalyClass): void {
    this.classes.set(c.TYPE, c);
  }

  /** A new open anomaly of the class for `doc.type` (GeneralAnomaly by default), stored under its key. */
  create(doc: AnomalyDocument): Anomaly {
    const Cls = this.classes.get(doc.type) ?? GeneralAnomaly;
    const anomaly = new Cls(this.app, doc);
    this.open.set(doc.key, anomaly);
    return anomaly;
  }

  /**
   * Called by each AnomalyManager as its pipeline starts: the first one routes the documents (its
   * pipeline is then upstream of the storage pipeline, which stops after it). With a `load`
   * function, the manager's pipeline is throttled until the open anomalies are loaded.
   */
  attach(manager: ProcessorBase): void {
    if (this.router === null) {
      this.router = new Router(manager);
      try {
        // Now, so that the storage pipeline is downstream of the manager's and stops after it.
        this.router.locate(this.address);
      } catch {
        // The storage pipeline may be registered later; it is located again on each flush.
      }
    }
    if (this.loader === undefined) return;
    const pipeline = manager.pipeline;
    this.loading ??= this.loadOpen();
    pipeline.throttle(this, true);
    void this.loading.finally(() => pipeline.throttle(this, false));
  }

  /** BSPump's query: open anomalies of the last 14 days with @timestamp, type and status, oldest first. */
  loadQuery(): Record<string, unknown> {
    return {
      size: 10000,
      sort: [{ "@timestamp": { order: "asc" } }],
      query: {
        bool: {
          must: [{ term: { status: "open" } }, { range: { "@timestamp": { gte: "now-14d" } } }, { exists: { field: "@timestamp" } }, { exists: { field: "type" } }, { exists: { field: "status" } }],
        },
      },
    };
  }

  private async loadOpen(): Promise<void> {
    try {
      const hits = await this.loader!(this.loadQuery(), this.config.getString("index"));
      let n = 0;
      for (const hit of hits) {
        if (hit._id.startsWith("b_")) continue; // backups (BSPump)
        const doc = fromStored(hit);
        if (doc === null || this.open.has(doc.key)) continue;
        this.create(doc);
        n++;
      }
      this.counter.add("anomalies.loaded", n);
    } catch (e) {
      this.app.log.error(`AnomalyStorage '${this.id}': loading the open anomalies failed; starting without them`, { error: toError(e) });
    }
  }

  /**
   * Ticks the open anomalies (moving the closed ones), sends the closed and then the open ones to
   * the storage pipeline, and forgets the closed ones older than the longevity.
   */
  flush(now: number = this.app.time()): void {
    this.sinceFlush = 0;
    for (const [key, anomaly] of this.open) {
      try {
        anomaly.onTick(now);
      } catch (e) {
        this.app.log.error(`AnomalyStorage '${this.id}': onTick of anomaly '${key}' failed`, { error: toError(e) });
      }
      if (anomaly.isClosed()) {
        this.open.delete(key);
        this.closed.set(anomaly.storageId, anomaly);
      }
    }
    if (this.closed.size === 0 && this.open.size === 0) return;
    if (this.router === null) return this.routeFailed(new Error("no AnomalyManager attached"));
    try {
      this.router.locate(this.address);
    } catch (e) {
      return this.routeFailed(toError(e));
    }
    for (const [id, anomaly] of this.closed) {
      this.send(anomaly);
      this.counter.add("anomalies.closed.flushed");
      if (now > (anomaly.doc.ts_end ?? now) + this.longevity) this.closed.delete(id);
    }
    for (const anomaly of this.open.values()) {
      this.send(anomaly);
      this.counter.add("anomalies.open.flushed");
    }
  }

  private send(anomaly: Anomaly): void {
    const id = anomaly.storageId;
    this.router!.route({ es_id: id }, toStored(anomaly.doc, id), this.address, true);
  }

  private routeFailed(error: Error): void {
    this.routeErrors++;
    if (this.routeErrors <= ROUTE_LOG_LIMIT) {
      this.app.log.error(`AnomalyStorage '${this.id}': cannot send anomalies to '${this.address}'; they stay in memory until the next flush`, { error });
    }
  }
}

/** The document as stored: times in milliseconds, the id in `_id` (ElasticSearchSink's default `id_field`). */
function toStored(doc: AnomalyDocument, id: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc, _id: id, "@timestamp": Math.round(doc["@timestamp"] * 1000) };
  if (typeof doc.ts_end === "number") out.ts_end = Math.round(doc.ts_end * 1000);
  return out;
}

/** A stored open anomaly back in memory (seconds); null when it is not one. */
function fromStored(hit: StoredAnomaly): AnomalyDocument | null {
  const s = hit._source;
  const ts = s["@timestamp"];
  if (typeof ts !== "number" || typeof s.type !== "string" || s.status !== "open") return null;
  const key = typeof s.key === "string" && s.key !== "" ? s.key : hit._id;
  const symptoms = Array.isArray(s.symptoms) ? (s.symptoms as Record<string, unknown>[]) : [];
  return { ...s, "@timestamp": ts / 1000, type: s.type, status: "open", key, symptoms };
}
