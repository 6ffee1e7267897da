import { locateConnection, TriggerSource, type Application, type Pipeline, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { ElasticSearchConnection } from "./ElasticSearchConnection.js";
import { parseRequestBody, type ElasticSearchSourceOptions } from "./ElasticSearchSource.js";

type Agg = Record<string, unknown>;

const CONFIG = {
  index: { type: "string", default: "index-*", doc: "Index (or pattern) to search" },
  request_body: { type: "string", default: "", doc: "Search body with aggregations, as JSON" },
} satisfies ConfigSpec;

/**
 * Runs an aggregation query each cycle and emits one flat event per leaf of the first top-level
 * aggregation: each bucket level adds `{<agg name>: <bucket key>}`, and a metric adds
 * `{<metric name>: <value>}` (BSPump). A bucket without sub-aggregations emits its `doc_count`.
 */
export class ElasticSearchAggsSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: ElasticSearchConnection;
  readonly requestBody: Record<string, unknown>;
  private readonly index: string;
  emitted = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | ElasticSearchConnection, options: ElasticSearchSourceOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, ElasticSearchConnection);
    this.index = this.config.getString("index");
    this.requestBody = options.requestBody ?? parseRequestBody(this.config.getString("request_body"), this.config.section) ?? { query: { match_all: {} } };
  }

  static override ConnectionClass = ElasticSearchConnection;

  async cycle(): Promise<void> {
    const body = { size: 0, ...this.requestBody };
    const res = await this.connection.client.requestWithRetry("POST", `${encodeURIComponent(this.index)}/_search`, body, { retries: 3, shouldStop: () => this.stopping });
    if (res.status !== 200) {
      this.log.error(`Aggregation search of '${this.index}' failed: ${res.status} ${res.body.toString("utf8").slice(0, 500)}`);
      return;
    }
    const aggs = (JSON.parse(res.body.toString("utf8")) as { aggregations?: Record<string, Agg> }).aggregations ?? {};
    const first = Object.keys(aggs)[0];
    if (first === undefined) return;
    const events: Record<string, unknown>[] = [];
    flatten(first, aggs[first]!, {}, events);
    for (const event of events) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.emitted++;
      this.pipeline.process(event);
    }
  }
}

/** Walks an aggregation result into flat events. */
export function flatten(name: string, agg: Agg, path: Record<string, unknown>, out: Record<string, unknown>[]): void {
  const buckets = agg.buckets;
  if (buckets !== undefined && typeof buckets === "object" && buckets !== null) {
    const list: [unknown, Agg][] = Array.isArray(buckets) ? (buckets as Agg[]).map((b) => [b.key, b]) : Object.entries(buckets as Record<string, Agg>);
    for (const [key, bucket] of list) {
      const p = { ...path, [name]: key };
      let sub = 0;
      for (const [k, v] of Object.entries(bucket)) {
        if (typeof v === "object" && v !== null && !Array.isArray(v)) {
          sub++;
          flatten(k, v as Agg, p, out);
        }
      }
      if (sub === 0) out.push({ ...p, doc_count: bucket.doc_count });
    }
    return;
  }
  if ("value" in agg) {
    out.push({ ...path, [name]: agg.value });
    return;
  }
  for (const [k, v] of Object.entries(agg)) if (typeof v === "object" && v !== null && !Array.isArray(v)) flatten(k, v as Agg, path, out);
}
