import {
  ProcessingError,
  Sink,
  ThrottleSwitch,
  type Application,
  type BSPumpApplication,
  type ComponentOptions,
  type DeadLetterEvent,
  type EventContext,
  type ConfigSpec, type TypedConfig,
  type Pipeline,
} from "../core/index.js";
import type { BulkItemFailure, BulkOwner } from "./ElasticSearchBulk.js";
import { ElasticSearchConnection } from "./ElasticSearchConnection.js";
import { IndexNamePattern, toEpochSeconds } from "./IndexNamePattern.js";

const ACTIONS = ["create_or_index", "index", "create", "update", "delete"] as const;
export type ElasticSearchAction = (typeof ACTIONS)[number];

/** What a dead-letter target receives for an item Elasticsearch refused (`event`: the document as it was sent, null for a delete). */
export interface ElasticSearchDeadLetter extends DeadLetterEvent {
  elasticsearch: { index: string; action: string; id: string | undefined; status: number; type: string; reason: string };
}

const CONFIG = {
  index: { type: "string", default: "bspump_", doc: "Target index; may hold UTC date fields, e.g. events-%Y.%m.%d. The context key es_index overrides it" },
  index_prefix: { type: "string", default: "bspump_", doc: "Obsolete (BSPump): used only when index is left at its default" },
  time_field: { type: "string", default: "", doc: "Event field with the event time for date fields in index (seconds, ms or ISO-8601); empty: the current time" },
  id_field: { type: "string", default: "_id", doc: "Event field with the document id; a field whose name starts with '_' is removed from the document" },
  action: { type: "string", default: "create_or_index", doc: "Bulk action; create_or_index: create without an id, index with one; update: with doc_as_upsert", choices: ACTIONS },
  dead_letter: { type: "string", default: "", doc: "Pipeline id that receives refused items; empty: the pipeline's dead_letter, if any" },
} satisfies ConfigSpec;

/**
 * Writes events (objects) to Elasticsearch/OpenSearch through the connection's bulks. The index
 * comes from the context (`es_index`) or from `index`, which may hold date fields
 * (`events-%Y.%m.%d`) filled from the event's `time_field` or the current time. The document id is
 * taken from `id_field`. Receipts are settled per item once Elasticsearch confirmed it; an item it
 * refused fails its receipt and is handled as a pipeline error, or goes to the dead-letter target.
 */
export class ElasticSearchSink extends Sink implements BulkOwner {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  override readonly settlesReceipts = true;
  readonly connection: ElasticSearchConnection;
  readonly action: ElasticSearchAction;
  private readonly pattern: IndexNamePattern;
  private readonly timeField: string;
  private readonly idField: string;
  private readonly removeId: boolean;
  private readonly deadLetterId: string;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  /** Items refused by Elasticsearch, and how many of them went to a dead-letter target. */
  failed = 0;
  deadLettered = 0;

  private readonly onPause = (_m: string, connection: unknown): void => {
    if (connection === this.connection) this.throttle.set(true);
  };
  private readonly onUnpause = (_m: string, connection: unknown): void => {
    if (connection === this.connection) this.throttle.set(false);
  };

  constructor(app: Application, pipeline: Pipeline, connection: string | ElasticSearchConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const svc = (app as BSPumpApplication).pumpService ?? app.pumpServiceOrNull();
    if (typeof connection === "string" && !svc) throw new ProcessingError("ElasticSearchSink needs a BSPumpApplication to locate its connection");
    this.connection = typeof connection === "string" ? svc!.locateConnection<ElasticSearchConnection>(connection) : connection;
    let index = this.config.getString("index");
    const prefix = this.config.getString("index_prefix");
    if (index === "bspump_" && prefix !== "bspump_") {
      this.pipeline.log.warn(`[${this.config.section}] index_prefix is obsolete: use index`);
      index = prefix;
    }
    this.pattern = new IndexNamePattern(index);
    this.timeField = this.config.getString("time_field");
    this.idField = this.config.getString("id_field");
    this.removeId = this.idField.startsWith("_");
    this.deadLetterId = this.config.getString("dead_letter");
    this.action = this.config.getString("action") as ElasticSearchAction; // one of ACTIONS: `choices` checked it
    app.pubsub.subscribe("ElasticSearchConnection.pause!", this.onPause);
    app.pubsub.subscribe("ElasticSearchConnection.unpause!", this.onUnpause);
  }

  static override ConnectionClass = ElasticSearchConnection;

  /** The index for an event (when the context does not name one). */
  indexFor(event: Record<string, unknown>): string {
    if (!this.pattern.hasDate) return this.pattern.pattern;
    let t = Number.NaN;
    if (this.timeField !== "") t = toEpochSeconds(event[this.timeField]);
    if (Number.isNaN(t)) t = this.app.time();
    return this.pattern.format(t);
  }

  process(context: EventContext, event: unknown): null {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new ProcessingError(`ElasticSearchSink expects an object event, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}`);
    }
    const doc = event as Record<string, unknown>;
    let id: unknown;
    if (this.idField !== "") {
      id = doc[this.idField];
      // JSON.stringify leaves out undefined members: cheaper than `delete`, which would turn the
      // object into a slow dictionary before it is serialised.
      if (id !== undefined && this.removeId) doc[this.idField] = undefined;
    }
    const esIndex = context.es_index;
    const index = typeof esIndex === "string" ? esIndex : this.indexFor(doc);
    const idJson = id === undefined || id === null ? undefined : JSON.stringify(typeof id === "string" ? id : String(id));
    let lines: string;
    switch (this.action) {
      case "create_or_index":
        lines = idJson === undefined ? `{"create":{}}\n${JSON.stringify(doc)}\n` : `{"index":{"_id":${idJson}}}\n${JSON.stringify(doc)}\n`;
        break;
      case "index":
        lines = idJson === undefined ? `{"index":{}}\n${JSON.stringify(doc)}\n` : `{"index":{"_id":${idJson}}}\n${JSON.stringify(doc)}\n`;
        break;
      case "create":
        lines = idJson === undefined ? `{"create":{}}\n${JSON.stringify(doc)}\n` : `{"create":{"_id":${idJson}}}\n${JSON.stringify(doc)}\n`;
        break;
      case "update":
        if (idJson === undefined) throw new ProcessingError(`ElasticSearchSink: action 'update' needs a document id in '${this.idField}'`);
        lines = `{"update":{"_id":${idJson}}}\n{"doc":${JSON.stringify(doc)},"doc_as_upsert":true}\n`;
        break;
      case "delete":
        if (idJson === undefined) throw new ProcessingError(`ElasticSearchSink: action 'delete' needs a document id in '${this.idField}'`);
        lines = `{"delete":{"_id":${idJson}}}\n`;
        break;
    }
    this.connection.consume(index, lines, context.receipt, this);
    return null;
  }

  /** Items Elasticsearch refused: each goes to the pipeline's failure path (this sink's own `dead_letter` first). */
  onItemsFailed(failures: BulkItemFailure[]): void {
    this.failed += failures.length;
    const deadLetter = this.deadLetterId !== "" ? this.deadLetterId : null;
    for (const f of failures) {
      const error = new ProcessingError(`Elasticsearch refused ${f.action} of ${f.id ?? "a document"} in '${f.index}': ${f.status} ${f.type}: ${f.reason}`);
      error.name = "ElasticSearchItemError";
      if ((deadLetter ?? this.pipeline.deadLetter) !== null) this.deadLettered++;
      const detail = { elasticsearch: { index: f.index, action: f.action, id: f.id, status: f.status, type: f.type, reason: f.reason } };
      this.pipeline.eventFailed(f.receipt ? { receipt: f.receipt } : {}, documentOf(f.lines), error, this, { deadLetter, detail });
    }
  }

  /** Sends what is buffered and waits until Elasticsearch confirmed it. */
  override async stop(): Promise<void> {
    this.connection.flush(true, this);
    await this.connection.whenIdle(this);
    this.throttle.set(false);
  }

  override describe(): Record<string, unknown> {
    // The connection's bulks (shared by its sinks): what the dashboard shows as in flight.
    const c = this.connection;
    return { ...super.describe(), InFlightBulks: c.bulksInFlight, QueuedBulks: c.queueSize, Failed: this.failed, DeadLettered: this.deadLettered, Throttled: this.throttle.active };
  }
}

/** The document of an item's NDJSON lines (the second line), or null. */
function documentOf(lines: string): unknown {
  const nl = lines.indexOf("\n");
  const doc = nl < 0 ? "" : lines.slice(nl + 1).trim();
  if (doc === "") return null;
  try {
    const parsed = JSON.parse(doc) as unknown;
    if (lines.startsWith('{"update"') && typeof parsed === "object" && parsed !== null && "doc" in parsed) return (parsed as { doc: unknown }).doc;
    return parsed;
  } catch {
    return doc;
  }
}
