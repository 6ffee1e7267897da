import type { Application } from "../core/index.js";

/** The document of an anomaly, as kept in memory (times in seconds) and stored (times in ms). */
export interface AnomalyDocument {
  "@timestamp": number;
  type: string;
  status: "open" | "closed";
  /** The symptoms that make up the anomaly, in arrival order. */
  symptoms: Record<string, unknown>[];
  /** The key the AnomalyAnalyzer gave the symptoms. */
  key: string;
  ts_end?: number;
  /** Symptoms dropped beyond AnomalyManager's max_symptoms (the oldest). */
  symptoms_dropped?: number;
  /** Duration in seconds (ts_end − @timestamp), once closed. */
  D?: number;
  /** The key dimensions, copied to the top level. */
  [dimension: string]: unknown;
}

/** A class of anomaly the AnomalyManager creates for symptoms of its `TYPE`. */
export interface AnomalyClass {
  readonly TYPE: string;
  new (app: Application, doc: AnomalyDocument): Anomaly;
}

/**
 * BSPump's Anomaly (a dict there; here the document is `doc`): an open or closed group of
 * symptoms with one key. `onTick(now)` decides, when AnomalyStorage flushes, whether it closes.
 * BSPump's on_tick is a coroutine and the storage throttled its pipeline while awaiting them; here
 * it is synchronous, so a flush runs between two events without a throttle.
 */
export abstract class Anomaly {
  static TYPE = "";
  constructor(
    readonly app: Application,
    readonly doc: AnomalyDocument,
  ) {}

  get key(): string {
    return this.doc.key;
  }

  /**
   * The id of the anomaly's document: the key and the first symptom's time in ms (as stored, so a
   * reloaded anomaly keeps its id), so that a later anomaly of the same key does not overwrite a
   * closed one.
   */
  get storageId(): string {
    return `${this.doc.key}@${Math.round(this.doc["@timestamp"] * 1000)}`;
  }

  isClosed(): boolean {
    return this.doc.status === "closed";
  }

  /** Closes the anomaly at `now` (seconds): `ts_end`, the duration `D`, status closed. */
  close(now: number): void {
    this.doc.ts_end = now;
    this.doc.D = now - this.doc["@timestamp"];
    this.doc.status = "closed";
  }

  /** Called on every flush of the storage while open: close the anomaly (`close(now)`) when it is over. */
  abstract onTick(now: number): void;
}
