import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { listen, Receipt, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type WorkerSharing } from "../core/index.js";
import { CONTEXT_RESPONSE_ID, WebServiceResponses } from "./responses.js";
import { bodyCodec, charsetOf, parseListen } from "./util.js";
import { splitLines } from "../codec/lines.js";
import { NO_VALUE, parseJSONLine } from "../codec/json.js";

type Format = "bytes" | "text" | "lines" | "json" | "ndjson";

const CONFIG = {
  listen: { type: "string", default: "127.0.0.1 8080", doc: "Address of the source's own HTTP server ('host port'; port 0: any free port); empty: no server, mount handle() yourself" },
  path: { type: "string", default: "/", doc: "URL path that takes events; other paths get 404" },
  method: { type: "list", default: ["POST", "PUT"], doc: "Accepted methods" },
  format: { type: "string", default: "bytes", choices: ["bytes", "text", "lines", "json", "ndjson"], doc: "How a body becomes events" },
  max_body: { type: "int", default: 10485760, doc: "Largest accepted body in bytes (413 above)", min: 1 },
  max_in_flight: { type: "int", default: 67108864, doc: "Bytes of request bodies held at once, over all requests (read or waiting to be settled); beyond: not_ready_status with Retry-After", min: 1 },
  response_timeout: { type: "float", default: 60, doc: "Seconds to wait for the events to be settled before answering 504", min: 0.001, max: 86400 },
  not_ready_status: { type: "int", default: 503, doc: "Status while the pipeline is not ready (503 or 429; an HTTP status)", min: 400, max: 599 },
  retry_after: { type: "int", default: 1, doc: "Retry-After seconds sent with not_ready_status", min: 0, max: 86400 },
  token: { type: "string", default: "", doc: "When set, requests need 'Authorization: Bearer <token>'", secret: true },
} satisfies ConfigSpec;

/**
 * An HTTP endpoint whose request bodies become events (BSPump's `WebServiceSource`, with its own
 * server). Each request is one delivery: its events share a receipt, and the client is answered
 * only once every event is settled — 200 when all were delivered (a sink wrote them or a processor
 * dropped them), 500 when one failed, 504 when `response_timeout` passed first. While the pipeline
 * is not ready (throttled by a slow sink, stopped by an error) requests are refused with
 * `not_ready_status` (503, or 429) and `Retry-After`, so clients back off instead of piling up.
 * The same answer goes to a request whose body would take the bytes held by all requests in flight
 * (read, or waiting to be settled) beyond `max_in_flight`: memory is bounded however many clients
 * send at once.
 *
 * The body is split by `format`: `bytes` (one Buffer event), `text` (one string), `lines` (one
 * string per line, empty ones included, as every line source), `json` (the parsed document; an
 * array gives one event per item), or `ndjson` (one parsed value per non-empty line; a line of
 * spaces is malformed). A body that does not parse is refused with 400, and no event of it enters
 * the pipeline.
 *
 * Context keys (BSPump's): `webservicesource.remote`, `.path`, `.query`, `.method`, `.headers`,
 * `.url`, `.content_type`, `.charset`, and `webservicesink.response_id` for a WebServiceSink, whose
 * output becomes the response body.
 *
 * `handle(req, res)` can also be mounted in a server of your own (`listen` empty).
 */
export class WebServiceSource extends Source {
  // node:cluster workers share one listening socket.
  static override WorkerSharing: WorkerSharing = "shared";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly host: string | null;
  private readonly requestedPort: number;
  readonly path: string;
  private readonly methods: Set<string>;
  private readonly format: Format;
  private readonly maxBody: number;
  private readonly maxInFlight: number;
  /** Body bytes held now by all requests: reserved from Content-Length, then counted as they arrive. */
  private inFlight = 0;
  /** The most `inFlight` has been: what the bound actually allowed. */
  private inFlightPeak = 0;
  private readonly responseTimeout: number;
  private readonly notReadyStatus: number;
  private readonly retryAfter: number;
  private readonly token: Buffer | null;
  private server: Server | null = null;
  private counter = 0;
  private readonly open = new Set<ServerResponse>();
  /** Answers the requests still waiting when the source is finalized. */
  private readonly cancels = new Set<() => void>();
  readonly stats = { requests: 0, events: 0, "status.2xx": 0, "status.4xx": 0, "status.5xx": 0, not_ready: 0, over_capacity: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const listen = this.config.getString("listen").trim();
    if (listen === "") {
      this.host = null;
      this.requestedPort = 0;
    } else {
      const { host, port } = parseListen(listen, `[${this.config.section}] listen`);
      this.host = host;
      this.requestedPort = port;
    }
    this.path = this.config.getString("path");
    this.methods = new Set(this.config.getList("method").map((m) => m.toUpperCase()));
    this.format = this.config.getString("format") as Format;
    this.maxBody = this.config.getInt("max_body");
    this.maxInFlight = this.config.getInt("max_in_flight");
    this.responseTimeout = this.config.getFloat("response_timeout");
    this.notReadyStatus = this.config.getInt("not_ready_status");
    this.retryAfter = this.config.getInt("retry_after");
    const token = this.config.getString("token");
    this.token = token === "" ? null : Buffer.from(`Bearer ${token}`);
    app.metrics.addCollector(() => [{ name: "bspump.http.webservice", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats, open: this.open.size, in_flight_bytes: this.inFlight, in_flight_peak_bytes: this.inFlightPeak } }]);
  }

  /** Body bytes held now by requests in flight, and the most they have been. */
  get bytesInFlight(): { now: number; peak: number } {
    return { now: this.inFlight, peak: this.inFlightPeak };
  }

  /** The port the server listens on (after start; useful with port 0). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === "object" ? (a as AddressInfo).port : 0;
  }

  async main(): Promise<void> {
    if (this.host !== null) {
      const server = createServer((req, res) => void this.handle(req, res));
      await listen(server, { port: this.requestedPort, host: this.host });
      this.server = server;
      this.log.info(`Listening on http://${this.host}:${this.port}${this.path}`);
    }
    await this.untilStopped;
  }

  /** Handles one request: mount it in your own server, or let the source's server call it. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (this.path !== "" && url.pathname !== this.path) return this.reply(res, 404, { error: "not found" });
      if (!this.methods.has(req.method ?? "")) return this.reply(res, 405, { error: "method not allowed" }, { Allow: [...this.methods].join(", ") });
      if (this.token !== null) {
        const given = Buffer.from(req.headers.authorization ?? "");
        if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) return this.reply(res, 401, { error: "unauthorized" }, { "WWW-Authenticate": "Bearer" });
      }
      if (this.stopping || !this.pipeline.isReady()) {
        this.stats.not_ready++;
        req.resume();
        return this.reply(res, this.notReadyStatus, { error: "pipeline not ready" }, { "Retry-After": String(this.retryAfter) });
      }
      const held = { bytes: 0 };
      try {
        const body = await this.readBody(req, held);
        if (body === "too large") return this.reply(res, 413, { error: `body larger than ${this.maxBody} bytes` }, { Connection: "close" });
        if (body === "over capacity") {
          this.stats.over_capacity++;
          return this.reply(res, this.notReadyStatus, { error: `more than ${this.maxInFlight} bytes in flight; retry later` }, { "Retry-After": String(this.retryAfter), Connection: "close" });
        }
        let events: unknown[];
        try {
          events = await this.split(body, req.headers["content-type"]);
        } catch (e) {
          return this.reply(res, 400, { error: `cannot parse the body as ${this.format}: ${toError(e).message}` });
        }
        await this.deliver(req, res, url, events);
      } finally {
        // The events of the body are settled (or given up) once deliver() answered.
        this.inFlight -= held.bytes;
      }
    } catch (e) {
      this.log.warn(`Request failed: ${toError(e).message}`);
      if (!res.headersSent) this.reply(res, 500, { error: toError(e).message });
    }
  }

  /**
   * Reads the body, holding its bytes in `held` (and in `inFlight`) until the caller releases them.
   * A declared Content-Length is reserved before reading, so a burst of large uploads is refused
   * before their bytes arrive; a body that would pass either bound is drained, not kept.
   */
  private readBody(req: IncomingMessage, held: { bytes: number }): Promise<Buffer | "too large" | "over capacity"> {
    const hold = (bytes: number): boolean => {
      if (this.inFlight + bytes > this.maxInFlight) return false;
      this.inFlight += bytes;
      held.bytes += bytes;
      this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlight);
      return true;
    };
    const declared = Number(req.headers["content-length"] ?? 0);
    let refused: "too large" | "over capacity" | null = null;
    if (declared > this.maxBody) refused = "too large";
    else if (declared > 0 && !hold(declared)) refused = "over capacity";
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        if (refused !== null) return;
        size += chunk.length;
        if (size > this.maxBody) refused = "too large";
        else if (size > held.bytes && !hold(size - held.bytes)) refused = "over capacity";
        else parts.push(chunk);
        if (refused !== null) parts.length = 0;
      });
      req.on("end", () => resolve(refused ?? Buffer.concat(parts)));
      req.on("error", reject);
    });
  }

  /** The events of a body; lines are framed by the codec layer (the same rules as every line source). */
  private async split(body: Buffer, contentType: string | undefined): Promise<unknown[]> {
    if (this.format === "bytes") return [body];
    const codec = bodyCodec("", contentType, "content-type charset");
    switch (this.format) {
      case "text":
        return [codec.decode(body)];
      case "lines":
        return splitLines(body, codec);
      case "json": {
        const doc: unknown = JSON.parse(codec.decode(body));
        return Array.isArray(doc) ? doc : [doc];
      }
      case "ndjson": {
        const events: unknown[] = [];
        const lines = await splitLines(body, codec);
        for (let i = 0; i < lines.length; i++) {
          let value: unknown;
          try {
            value = parseJSONLine(lines[i]!);
          } catch (e) {
            throw new Error(`line ${i + 1}: ${toError(e).message}`);
          }
          if (value !== NO_VALUE) events.push(value);
        }
        return events;
      }
    }
  }

  private async deliver(req: IncomingMessage, res: ServerResponse, url: URL, events: unknown[]): Promise<void> {
    const id = `${this.pipeline.id}.${this.id}#${++this.counter}`;
    WebServiceResponses.open(id);
    this.open.add(res);
    let aborted = false;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<Receipt>((resolve) => {
      const receipt = new Receipt(resolve);
      const contentType = req.headers["content-type"] ?? "";
      const base: EventContext = {
        receipt,
        "webservicesource.remote": req.socket.remoteAddress ?? "",
        "webservicesource.path": url.pathname,
        "webservicesource.query": Object.fromEntries(url.searchParams),
        "webservicesource.method": req.method ?? "",
        "webservicesource.headers": req.headers,
        "webservicesource.url": req.url ?? "",
        "webservicesource.content_type": contentType.split(";")[0]!.trim(),
        "webservicesource.charset": charsetOf(contentType) ?? "",
        [CONTEXT_RESPONSE_ID]: id,
      };
      void (async () => {
        for (const event of events) {
          const go = this.whenReady();
          // In error: the rest is not handed over (it would wait for the clear, then the request
          // fails anyway and is sent again); the client gets 500 or 503 and resends it all.
          if (go !== true && (this.pipeline.isError() || !(await go))) {
            aborted = true;
            break;
          }
          this.stats.events++;
          this.pipeline.process(event, { ...base });
        }
        receipt.seal();
      })();
    });
    let cancel: (() => void) | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.responseTimeout * 1000);
      cancel = () => {
        aborted = true;
        resolve(null);
      };
    });
    this.cancels.add(cancel!);
    const receipt = await Promise.race([done, timeout]);
    clearTimeout(timer);
    this.cancels.delete(cancel!);
    this.open.delete(res);
    if (receipt === null && aborted) {
      WebServiceResponses.close(id);
      return this.reply(res, 503, { error: "source stopped before the events were settled" }, { "Retry-After": String(this.retryAfter) });
    }
    const output = WebServiceResponses.close(id);
    if (receipt === null) return this.reply(res, 504, { error: `events not settled within ${this.responseTimeout} s` });
    if (receipt.error !== null) return this.reply(res, 500, { error: receipt.error.message, settled: receipt.settledCount, failed: receipt.failedCount });
    if (aborted) return this.reply(res, 503, { error: this.stopping ? "source stopping" : "pipeline in error", settled: receipt.settledCount }, { "Retry-After": String(this.retryAfter) });
    if (output !== undefined && output.chunks.length > 0) {
      this.stats["status.2xx"]++;
      res.writeHead(200, { "Content-Type": output.contentType });
      res.end(Buffer.concat(output.chunks));
      return;
    }
    this.reply(res, 200, { received: events.length });
  }

  private reply(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
    if (status < 300) this.stats["status.2xx"]++;
    else if (status < 500) this.stats["status.4xx"]++;
    else this.stats["status.5xx"]++;
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** Stops taking requests; requests already in the pipeline are answered once settled (see finalize). */
  protected override async onStop(): Promise<void> {
    this.server?.close();
    this.server?.closeIdleConnections();
  }

  override async finalize(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) {
      for (const cancel of [...this.cancels]) cancel();
      return;
    }
    // Processors have flushed by now, so settled requests were answered; the rest get 503.
    for (const cancel of [...this.cancels]) cancel();
    await new Promise((r) => setImmediate(r));
    server.closeAllConnections();
  }
}
