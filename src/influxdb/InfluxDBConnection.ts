import { ConfigError, Connection, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { PRECISIONS, type Precision } from "./lineprotocol.js";

/** The outcome of one POST /write. */
export interface WriteResult {
  ok: boolean;
  /** HTTP status, or 0 when the request did not get an answer (network error, timeout). */
  status: number;
  /** The server's error message (InfluxDB's `{"error": "..."}`) or the network error. */
  message: string;
  /** True when the write should be tried again later (network error, 5xx, a code in response_codes_to_retry). */
  retry: boolean;
}

const CONFIG = {
  url: { type: "string", default: "http://localhost:8086/", doc: "InfluxDB base URL" },
  db: { type: "string", default: "mydb", doc: "Database written to" },
  precision: { type: "string", default: "ns", doc: "Timestamp precision: ns, u, ms, s, m or h (sinks write timestamps in it)" },
  username: { type: "string", default: "", doc: "User (basic auth), if the server requires one" },
  password: { type: "string", default: "", doc: "Password (basic auth)" },
  retention_policy: { type: "string", default: "", doc: "Retention policy (rp=); empty: the database's default" },
  output_queue_max_size: { type: "int", default: 10, doc: "Buckets waiting to be sent above which a sink throttles its pipeline" },
  output_bucket_max_size: { type: "int", default: 1000000, doc: "Characters of line protocol per request" },
  flush_period: { type: "float", default: 1.0, doc: "Seconds after which a partly filled bucket is sent (BSPump: every tick)" },
  timeout: { type: "float", default: 30, doc: "Seconds to wait for an answer" },
  retry_enabled: { type: "bool", default: true, doc: "Retry network errors and retryable codes with backoff (BSPump default: False, which loses data)" },
  response_codes_to_retry: { type: "string", default: "429,500,502,503,504", doc: "HTTP codes retried (every 5xx is retried as well; BSPump: 404,502,503,504)" },
  max_retry_delay: { type: "float", default: 30, doc: "Longest wait between retries, seconds" },
} satisfies ConfigSpec;

/**
 * An InfluxDB 1.x HTTP endpoint (`POST <url>/write?db=<db>&precision=<precision>`). Sinks batch the
 * line protocol; the connection sends it and classifies the answer: 2xx is success, a network error,
 * a 5xx or a code in `response_codes_to_retry` is retried (when `retry_enabled`), any other status is
 * a failure carrying the server's message (BSPump ignored non-2xx answers [BUG]).
 */
export class InfluxDBConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly writeURL: string;
  readonly precision: Precision;
  readonly retryEnabled: boolean;
  readonly maxRetryDelay: number;
  private readonly retryCodes: Set<number>;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  readonly counts = { requests: 0, ok: 0, failed: 0, retried: 0, bytes: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id ?? "InfluxDBConnection", options);
    let url = this.config.getString("url");
    if (!url.endsWith("/")) url += "/";
    const precision = this.config.getString("precision") as Precision;
    if (!PRECISIONS.includes(precision)) throw new ConfigError(`[${this.config.section}] key 'precision' must be one of ${PRECISIONS.join(", ")}, got '${precision}'`);
    this.precision = precision;
    const params = new URLSearchParams({ db: this.config.getString("db"), precision });
    const rp = this.config.getString("retention_policy");
    if (rp !== "") params.set("rp", rp);
    this.writeURL = `${url}write?${params.toString()}`;
    this.retryEnabled = this.config.getBool("retry_enabled");
    this.maxRetryDelay = Math.max(0.1, this.config.getFloat("max_retry_delay"));
    this.retryCodes = new Set(this.config.getString("response_codes_to_retry").split(/[,\s]+/).filter((c) => c !== "").map((c) => Number(c)));
    this.timeoutMs = Math.max(0.1, this.config.getFloat("timeout")) * 1000;
    this.headers = { "Content-Type": "text/plain; charset=utf-8" };
    const user = this.config.getString("username");
    if (user !== "") this.headers.Authorization = `Basic ${Buffer.from(`${user}:${this.config.getString("password")}`).toString("base64")}`;
    app.metrics.addCollector(() => [{ name: "bspump.influxdb.connection", type: "counter", tags: { connection: this.id }, fields: { ...this.counts } }]);
  }

  /** Sends one body of line protocol. Never throws: the result says what happened. */
  async write(body: string | Buffer): Promise<WriteResult> {
    this.counts.requests++;
    let status = 0;
    let message = "";
    try {
      const response = await fetch(this.writeURL, { method: "POST", headers: this.headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      status = response.status;
      const text = await response.text();
      if (response.ok) {
        this.counts.ok++;
        this.counts.bytes += typeof body === "string" ? Buffer.byteLength(body) : body.length;
        return { ok: true, status, message: "", retry: false };
      }
      message = errorMessage(text) || response.statusText;
    } catch (e) {
      message = e instanceof Error ? `${e.name}: ${e.message}${causeOf(e)}` : String(e);
    }
    const retry = this.retryEnabled && (status === 0 || status >= 500 || this.retryCodes.has(status));
    if (retry) this.counts.retried++;
    else this.counts.failed++;
    return { ok: false, status, message, retry };
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), WriteURL: this.writeURL.replace(/([?&])(p|u)=[^&]*/g, "$1$2=***"), Counts: { ...this.counts } };
  }
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 1000);
}

function causeOf(e: Error): string {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : "";
}
