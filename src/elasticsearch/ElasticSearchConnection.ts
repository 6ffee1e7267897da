import { readFileSync } from "node:fs";
import { Connection, ConfigError, toError, type Application, type ComponentOptions, type Counter, type Receipt, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { ElasticSearchBulk, type BulkItemFailure, type BulkOwner } from "./ElasticSearchBulk.js";
import { bulkFailures, classifyItems, failedItems, retriable, type BulkResponse, type BulkResponseItem } from "./bulkResponse.js";
import { ElasticSearchClient, ElasticSearchNetworkError, parseUrls, type ElasticSearchResponse } from "./ElasticSearchClient.js";

const CONFIG = {
  url: { type: "string", default: "", doc: "Node URLs, separated by whitespace or ';' (http://h1:9200;h2:9200). Empty: [elasticsearch] url" },
  username: { type: "string", default: "", doc: "Basic auth user (empty: [elasticsearch] username)" },
  password: { type: "string", default: "", doc: "Basic auth password", secret: true },
  api_key: { type: "string", default: "", doc: "API key, sent as 'Authorization: ApiKey <key>'", secret: true },
  cafile: { type: "string", default: "", doc: "PEM file of the CA(s) to trust for https:// nodes" },
  verify: { type: "bool", default: true, doc: "Verify the server certificate of https:// nodes" },
  loader_per_url: { type: "int", default: 4, doc: "Concurrent bulk uploaders per node URL" },
  output_queue_max_size: { type: "int", default: 10, doc: "Bulks waiting to be sent before the sinks' pipelines are throttled" },
  bulk_out_max_size: { type: "int", default: 12 * 1024 * 1024, doc: "Bytes per bulk before it is sent" },
  timeout: { type: "float", default: 300, doc: "Seconds per request" },
  fail_log_max_size: { type: "int", default: 20, doc: "Failed items logged one by one before only a summary is logged" },
  precise_error_handling: { type: "bool", default: false, doc: "Kept for BSPump configs: item ids are always read" },
  log_failed_documents: { type: "bool", default: true, doc: "Include the failed document in the log of a failed item" },
  bulk_lifespan: { type: "float", default: 30, doc: "Seconds after which an open bulk is sent whatever its size" },
  max_bulk_age: { type: "int", default: 2, doc: "Ticks (seconds) without new data after which an open bulk is sent" },
  retry_max: { type: "int", default: 0, doc: "Attempts per bulk on network errors, 429 and 5xx before it fails (0: until it succeeds)" },
  retry_backoff: { type: "float", default: 0.5, doc: "Seconds before the first retry; doubles up to retry_backoff_max" },
  retry_backoff_max: { type: "float", default: 10, doc: "Longest wait between retries, seconds" },
  dead_node_retry: { type: "float", default: 5, doc: "Seconds a node that failed at the network level is skipped" },
} satisfies ConfigSpec;

/**
 * A connection to an Elasticsearch or OpenSearch cluster (tested: OpenSearch 2.19; see
 * docs/elasticsearch.md): the REST client (round robin over the node URLs, dead nodes skipped and
 * retried later, basic auth or API key, TLS), and the bulk
 * machinery the sinks feed: one open bulk per (sink, index), sent when it reaches
 * `bulk_out_max_size` or is old enough, by `loader_per_url × nodes` concurrent uploaders, with the
 * pipelines throttled while more than `output_queue_max_size` bulks wait. Network errors, 429 and
 * 5xx are retried with backoff; per-item results are read: items that failed are counted as
 * failed and handed back to their sink, never counted as written.
 */
export class ElasticSearchConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly client: ElasticSearchClient;
  readonly bulkMaxSize: number;
  private readonly queueMax: number;
  private readonly loaders: number;
  private readonly maxBulkAge: number;
  private readonly bulkLifespanMs: number;
  private readonly failLogMax: number;
  private readonly logDocuments: boolean;
  private readonly retryOptions: { retries: number; backoff: number; maxBackoff: number };

  /** Open bulks: owner → index → bulk. */
  private readonly open = new Map<BulkOwner | null, Map<string, ElasticSearchBulk>>();
  private readonly queue: ElasticSearchBulk[] = [];
  private inFlight = 0;
  private activeLoaders = 0;
  private paused = false;
  private stopping = false;
  private failLogged = 0;
  private idleWaiters: { owner: BulkOwner | null | undefined; resolve: () => void }[] = [];
  /** Bulks queued, being sent or waiting for a retry, per owner. */
  private readonly pending = new Map<BulkOwner | null, number>();

  /** `elasticsearch.insert {ok, fail}` (BSPump's names) plus `retry`. */
  readonly insertCounter: Counter;
  /** Items written, failed for good, and bulk attempts retried (also in the counter). */
  ok = 0;
  fail = 0;
  retries = 0;
  /** Times the queue paused the sinks. */
  pauses = 0;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    const global = (key: string): string => app.config.get("elasticsearch", key) ?? "";
    let urlText = this.config.getString("url");
    if (urlText === "") urlText = global("url_hot") || global("url");
    const urls = parseUrls(urlText);
    if (urls.length === 0) throw new ConfigError(`[connection:${this.id}] url: no Elasticsearch URL configured (nor [elasticsearch] url)`);
    const username = this.config.getString("username") || global("username");
    const password = this.config.getString("password") || global("password");
    const apiKey = this.config.getString("api_key") || global("api_key");
    if (username && apiKey) throw new ConfigError(`[connection:${this.id}] give either username/password or api_key, not both`);
    const cafile = this.config.getString("cafile") || global("cafile");
    let ca: Buffer | undefined;
    if (cafile !== "") {
      try {
        ca = readFileSync(cafile);
      } catch (e) {
        throw new ConfigError(`[connection:${this.id}] cafile: cannot read '${cafile}': ${toError(e).message}`);
      }
    }
    const loaderPerUrl = Math.max(1, this.config.getInt("loader_per_url"));
    this.client = new ElasticSearchClient({
      urls,
      username,
      password,
      apiKey,
      ca,
      verify: this.config.getBool("verify"),
      timeout: this.config.getFloat("timeout"),
      deadNodeRetry: this.config.getFloat("dead_node_retry"),
      maxSockets: loaderPerUrl * 2 + 4,
    });
    this.loaders = loaderPerUrl * urls.length;
    this.queueMax = Math.max(1, this.config.getInt("output_queue_max_size"));
    this.bulkMaxSize = Math.max(1, this.config.getInt("bulk_out_max_size"));
    this.maxBulkAge = this.config.getInt("max_bulk_age");
    this.bulkLifespanMs = this.config.getFloat("bulk_lifespan") * 1000;
    this.failLogMax = this.config.getInt("fail_log_max_size");
    this.logDocuments = this.config.getBool("log_failed_documents");
    this.retryOptions = { retries: this.config.getInt("retry_max"), backoff: this.config.getFloat("retry_backoff"), maxBackoff: this.config.getFloat("retry_backoff_max") };
    this.insertCounter = app.metrics.createCounter("elasticsearch.insert", { connection: this.id }, ["ok", "fail", "retry"]);
    app.metrics.addCollector(() => [{ name: "elasticsearch.outputqueue", type: "gauge", tags: { connection: this.id }, fields: { size: this.queue.length, in_flight: this.inFlight } }]);
    app.pubsub.subscribe("Application.tick!", () => this.flush(false));
  }

  /** Node URLs, each ending in `/` (BSPump's `get_url()` picks among them). */
  getUrls(): string[] {
    return this.client.urls;
  }

  /** True while the sinks are asked to hold back (the queue is full). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Bulks waiting to be sent (not counting those being sent). */
  get queueSize(): number {
    return this.queue.length;
  }

  /** Bulks sent and not answered yet. */
  get bulksInFlight(): number {
    return this.inFlight;
  }

  // ------------------------------------------------------------------ bulks

  /**
   * Adds one item (its NDJSON lines, each ending with `\n`) to the open bulk of `owner` for `index`;
   * a full bulk is queued at once. Synchronous and allocation-light: the sinks' hot path.
   */
  consume(index: string, lines: string, receipt?: Receipt, owner: BulkOwner | null = null): void {
    let byIndex = this.open.get(owner);
    if (byIndex === undefined) {
      byIndex = new Map();
      this.open.set(owner, byIndex);
    }
    let bulk = byIndex.get(index);
    if (bulk === undefined) {
      bulk = new ElasticSearchBulk(index, owner);
      byIndex.set(index, bulk);
    }
    bulk.append(lines, receipt);
    if (bulk.size >= this.bulkMaxSize) {
      byIndex.delete(index);
      this.enqueue(bulk);
    }
  }

  /**
   * Ages the open bulks and queues those old enough (`force`: all of them, or only `owner`'s).
   * Called every tick; sinks force it when their pipeline stops.
   */
  flush(force: boolean, owner?: BulkOwner | null): void {
    const now = Date.now();
    for (const [o, byIndex] of this.open) {
      if (owner !== undefined && o !== owner) continue;
      for (const [index, bulk] of byIndex) {
        bulk.aging++;
        if (force || bulk.aging >= this.maxBulkAge || now - bulk.createdAt >= this.bulkLifespanMs) {
          byIndex.delete(index);
          this.enqueue(bulk);
        }
      }
    }
  }

  /**
   * Resolves when nothing of `owner` (every owner when not given) is open, queued, being sent or
   * waiting to be sent again. Call `flush(true, owner)` first.
   */
  whenIdle(owner?: BulkOwner | null): Promise<void> {
    if (this.isIdle(owner)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push({ owner, resolve }));
  }

  private isIdle(owner?: BulkOwner | null): boolean {
    if (owner === undefined) {
      for (const n of this.pending.values()) if (n > 0) return false;
      for (const byIndex of this.open.values()) if (byIndex.size > 0) return false;
      return true;
    }
    return (this.pending.get(owner) ?? 0) === 0 && (this.open.get(owner)?.size ?? 0) === 0;
  }

  private wakeIdleWaiters(): void {
    if (this.idleWaiters.length === 0) return;
    const still: { owner: BulkOwner | null | undefined; resolve: () => void }[] = [];
    for (const w of this.idleWaiters) {
      if (this.isIdle(w.owner)) w.resolve();
      else still.push(w);
    }
    this.idleWaiters = still;
  }

  /** A bulk enters the send path (queued now, or after a retry delay). */
  private track(bulk: ElasticSearchBulk): void {
    this.pending.set(bulk.owner, (this.pending.get(bulk.owner) ?? 0) + 1);
  }

  private enqueue(bulk: ElasticSearchBulk): void {
    if (bulk.items === 0) return;
    bulk.close();
    this.track(bulk);
    this.pushQueue(bulk);
  }

  private pushQueue(bulk: ElasticSearchBulk): void {
    this.queue.push(bulk);
    if (!this.paused && this.queue.length >= this.queueMax) {
      this.paused = true;
      this.pauses++;
      this.app.pubsub.publish("ElasticSearchConnection.pause!", this);
    }
    while (this.activeLoaders < this.loaders && this.activeLoaders < this.queue.length + this.inFlight) {
      this.activeLoaders++;
      void this.loader();
    }
  }

  private async loader(): Promise<void> {
    try {
      for (;;) {
        const bulk = this.queue.shift();
        if (bulk === undefined) break;
        if (this.paused && this.queue.length < this.queueMax) {
          this.paused = false;
          this.app.pubsub.publish("ElasticSearchConnection.unpause!", this);
        }
        this.inFlight++;
        try {
          await this.upload(bulk);
        } catch (e) {
          this.log.error(`Bulk upload to '${bulk.index}' failed unexpectedly`, { error: toError(e) });
          this.failBulk(bulk, 0, "exception", toError(e).message);
        } finally {
          this.inFlight--;
          this.pending.set(bulk.owner, (this.pending.get(bulk.owner) ?? 1) - 1);
          this.wakeIdleWaiters();
        }
      }
    } finally {
      this.activeLoaders--;
    }
  }

  private async upload(bulk: ElasticSearchBulk): Promise<void> {
    const path = `${encodeURIComponent(bulk.index)}/_bulk?filter_path=errors,took,items.*.error,items.*.status,items.*._id`;
    const body = bulk.close();
    let res: ElasticSearchResponse;
    try {
      res = await this.client.requestWithRetry("POST", path, body, {
        ...this.retryOptions,
        contentType: "application/x-ndjson",
        onRetry: (reason, attempt) => {
          this.retries++;
          this.insertCounter.add("retry");
          if (attempt === 1 || attempt % 10 === 0) this.log.warn(`Bulk of ${bulk.items} items to '${bulk.index}' not delivered (attempt ${attempt}), retrying: ${reason}`);
        },
      });
    } catch (e) {
      const error = toError(e);
      this.failBulk(bulk, 0, error instanceof ElasticSearchNetworkError ? "network_error" : "exception", error.message);
      return;
    }
    if (res.status !== 200) {
      const text = res.body.toString("utf8").slice(0, 1000);
      this.failBulk(bulk, res.status, retriable(res.status) ? "retries_exhausted" : "bulk_rejected", `HTTP ${res.status}: ${text}`);
      return;
    }
    let parsed: BulkResponse;
    try {
      parsed = JSON.parse(res.body.toString("utf8")) as BulkResponse;
    } catch (e) {
      this.failBulk(bulk, res.status, "invalid_response", `Response is not JSON: ${toError(e).message}`);
      return;
    }
    if (parsed.errors !== true) {
      this.ok += bulk.items;
      this.insertCounter.add("ok", bulk.items);
      bulk.settleAll();
      return;
    }
    this.readItems(bulk, parsed.items ?? []);
  }

  /** A bulk with `errors: true`: settle what succeeded, re-send items refused with 429/5xx, report the rest. */
  private readItems(bulk: ElasticSearchBulk, items: Record<string, BulkResponseItem>[]): void {
    const results = classifyItems(bulk, items, (status) => retriable(status) && (this.retryOptions.retries === 0 || bulk.attempts < this.retryOptions.retries));
    const ok = bulk.items - results.failedAt.size;
    this.ok += ok;
    this.insertCounter.add("ok", ok);
    const { failures, retryBulk } = failedItems(bulk, results);
    if (retryBulk !== null) {
      retryBulk.attempts = bulk.attempts + 1;
      this.retries++;
      this.insertCounter.add("retry");
      this.log.warn(`${retryBulk.items} items to '${bulk.index}' refused as busy (429/5xx): sending them again`);
      const delay = Math.min(this.retryOptions.backoff * 2 ** Math.min(bulk.attempts, 10), this.retryOptions.maxBackoff);
      const again = retryBulk;
      again.close();
      this.track(again);
      setTimeout(() => this.pushQueue(again), delay * 1000);
    }
    if (failures.length > 0) this.reportFailures(bulk, failures);
  }

  /** The whole bulk failed for good: every item is a failure. */
  private failBulk(bulk: ElasticSearchBulk, status: number, type: string, reason: string): void {
    const failures = bulkFailures(bulk, status, type, reason);
    this.log.error(`Bulk of ${bulk.items} items to '${bulk.index}' failed: ${reason}`);
    this.reportFailures(bulk, failures);
  }

  private reportFailures(bulk: ElasticSearchBulk, failures: BulkItemFailure[]): void {
    this.fail += failures.length;
    this.insertCounter.add("fail", failures.length);
    for (const f of failures) {
      if (this.failLogged >= this.failLogMax) break;
      this.failLogged++;
      const doc = this.logDocuments ? { document: f.lines.slice(0, 2000) } : {};
      this.log.error(`Item ${f.item} (${f.action}${f.id ? ` _id=${f.id}` : ""}) to '${f.index}' failed: ${f.status} ${f.type}: ${f.reason}`, doc);
    }
    if (failures.length > 0) this.log.warn(`${failures.length} of ${bulk.items} items to '${bulk.index}' failed (${this.fail} failed in total)`);
    if (bulk.owner !== null) {
      try {
        bulk.owner.onItemsFailed(failures);
        return;
      } catch (e) {
        this.log.error("The sink failed to handle failed items", { error: toError(e) });
      }
    }
    for (const f of failures) f.receipt?.fail(new Error(`${f.type}: ${f.reason}`));
  }

  // ------------------------------------------------------------------ lifecycle

  override async finalize(): Promise<void> {
    this.stopping = true;
    this.flush(true);
    let warned = 0;
    while (!this.isIdle()) {
      await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, 1000))]);
      if (!this.isIdle() && ++warned % 10 === 1) this.log.warn(`Waiting for ${this.queue.length + this.inFlight} bulk(s) to be sent before closing`);
    }
    this.client.close();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Urls: this.getUrls(), Queue: this.queue.length, InFlight: this.inFlight, Paused: this.paused, Ok: this.ok, Fail: this.fail, Retries: this.retries, Stopping: this.stopping };
  }
}
