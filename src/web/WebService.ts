import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { bspumpVersion, listen, checkSection, ConfigError, toError, type BSPumpApplication, type ConfigSpec, type Lookup, type Logger, type MetricSample, type Service } from "../core/index.js";
import { DASHBOARD_HTML } from "./dashboard.js";
import { etagMatches, parseListen } from "./listenEtag.js";
import { HostCheck, isLoopback, SECURITY_HEADERS, stateChangeRefusal } from "./guard.js";
import { appSnapshot, LiveStream } from "./stream.js";
import { mergedHealth, mergedMetrics, mergePipelines } from "./workersView.js";

/** `[web]` keys with a type to check (the others are strings, read as they are). */
const WEB_KEYS: ConfigSpec = {
  max_body: { type: "int", default: 65536, doc: "Largest request body in bytes", min: 0, max: 1073741824 },
  allowed_hosts: { type: "list", default: [], doc: "More Host names to answer to" },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The web API (BSPump's routes under /bspump/v1/), `/metrics`, `/health` and the dashboard at `/`.
 * Config `[web]`: `listen`, `token` (or env BSPUMP_WEB_TOKEN) for mutating endpoints,
 * `lookup_token` (or env BSPUMP_LOOKUP_TOKEN) for the lookup endpoints, `max_body` bytes,
 * `manifest` file, `tls_cert`/`tls_key` for https, `allowed_hosts` (more `Host` names to answer to,
 * e.g. behind a reverse proxy; see guard.ts for what is refused and why).
 */
export class WebService implements Service {
  readonly host: string;
  private requestedPort: number;
  private server: Server | null = null;
  readonly log: Logger;
  readonly token: string;
  readonly lookupToken: string;
  readonly maxBody: number;
  readonly manifestPath: string;
  private readonly tls: { cert: Buffer; key: Buffer } | null;
  private readonly hosts: HostCheck;
  readonly counts = { requests: 0, "status.2xx": 0, "status.3xx": 0, "status.4xx": 0, "status.5xx": 0 };
  /** Per lookup: full answers and 304s served to slaves. */
  readonly lookupCounts = new Map<string, { served: number; not_modified: number }>();
  /** `GET /bspump/v1/stream`: what the dashboard listens to. */
  private readonly live: LiveStream;

  constructor(
    readonly app: BSPumpApplication,
    listen: string,
  ) {
    const { host, port } = parseListen(listen);
    this.host = host;
    this.requestedPort = port;
    const cfg = (key: string) => app.config.get("web", key) ?? "";
    this.token = cfg("token") || process.env.BSPUMP_WEB_TOKEN || "";
    this.lookupToken = cfg("lookup_token") || process.env.BSPUMP_LOOKUP_TOKEN || "";
    const checked = checkSection(app.config, "web", WEB_KEYS);
    this.maxBody = checked.max_body as number;
    this.manifestPath = cfg("manifest") || "/manifest";
    this.hosts = new HostCheck(host, checked.allowed_hosts as string[]);
    const cert = cfg("tls_cert");
    const key = cfg("tls_key");
    this.tls = cert && key ? { cert: readPem(cert, "tls_cert"), key: readPem(key, "tls_key") } : null;
    this.log = app.logs.logger("bspump.web");
    const lookups = () => [...app.pumpService.lookups.values()].map((l) => safeDescribe(l));
    const supervisor = app.supervisor;
    this.live = new LiveStream(
      supervisor
        ? async () => {
            const reports = await supervisor.gather();
            return { time: Date.now() / 1000, pipelines: mergePipelines(reports), ...(this.lookupToken === "" ? { lookups: reports[0]?.lookups ?? [] } : {}) };
          }
        : appSnapshot(app, () => this.lookupToken === "", lookups),
    );
    app.metrics.addCollector((): MetricSample[] => {
      const out: MetricSample[] = [{ name: "bspump.web", type: "counter", tags: {}, fields: this.counts }];
      for (const [lookup, c] of this.lookupCounts) out.push({ name: "bspump.web.lookup", type: "counter", tags: { lookup }, fields: c });
      return out;
    });
  }

  /** The bound port (after initialize); useful with port 0. */
  get port(): number {
    const address = this.server?.address();
    return address && typeof address === "object" ? (address as AddressInfo).port : this.requestedPort;
  }

  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.tls ? "https" : "http"}://${host}:${this.port}`;
  }

  async initialize(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.tls ? createHttpsServer({ cert: this.tls.cert, key: this.tls.key }, handler) : createHttpServer(handler);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"error\":\"bad request\"}");
      else socket.destroy();
    });
    await listen(server, { port: this.requestedPort, host: this.host });
    this.server = server;
    this.log.info(`Web API listening on ${this.url}`);
    if (!isLoopback(this.host) && this.token === "") {
      this.log.warn(
        `SECURITY: the web API listens on ${this.url}, beyond this machine, with no [web] token: anyone who can reach it can clear pipeline errors and read every pipeline` +
          (this.lookupToken === "" ? " and lookup" : "") +
          ". Set [web] token (and lookup_token), or listen on 127.0.0.1.",
      );
    }
  }

  async finalize(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.live.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- dispatch

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counts.requests++;
    try {
      if (!this.hosts.allows(req.headers.host)) throw new HttpError(403, `Host '${req.headers.host}' is not a name of this server ([web] allowed_hosts)`);
      await this.route(req, res);
    } catch (e) {
      if (e instanceof HttpError) {
        this.sendJson(res, e.status, { error: e.message, status: e.status }, e.headers);
      } else {
        this.log.error("Web request failed", { error: toError(e), url: req.url });
        this.sendJson(res, 500, { error: "internal error", status: 500 });
      }
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      throw new HttpError(400, "malformed URL");
    }
    const parts = path.split("/").filter((p) => p !== "");
    let segments: string[];
    try {
      segments = parts.map((p) => decodeURIComponent(p));
    } catch {
      throw new HttpError(400, "malformed URL encoding");
    }
    const method = req.method ?? "GET";
    const get = (handler: () => void | Promise<void>) => {
      if (method !== "GET" && method !== "HEAD") throw new HttpError(405, `method ${method} not allowed`, { Allow: "GET, HEAD" });
      return handler();
    };

    if (segments.length === 0) return get(() => this.send(res, 200, DASHBOARD_HTML, "text/html; charset=utf-8"));
    if (segments.length === 1 && segments[0] === "health") return get(() => this.health(res));
    const supervisor = this.app.supervisor;
    if (segments.length === 1 && segments[0] === "metrics") {
      return get(async () => {
        const text = supervisor ? mergedMetrics(await supervisor.gather(), this.app.metrics.collect().filter(isSupervisorOwn)) : this.app.metrics.toPrometheus();
        this.send(res, 200, text, "text/plain; version=0.0.4; charset=utf-8");
      });
    }
    if (segments[0] !== "bspump" || segments[1] !== "v1") throw new HttpError(404, `no such endpoint: ${path}`);
    const [, , resource, id, action, ...extra] = segments;
    if (extra.length > 0) throw new HttpError(404, `no such endpoint: ${path}`);
    const pumps = this.app.pumpService;

    switch (resource) {
      case "pipelines": {
        // With worker processes, the pipelines are the workers' (workersView.ts merges them).
        const all = async () => (supervisor ? mergePipelines(await supervisor.gather()) : pumps.describePipelines());
        if (id === undefined) return get(async () => this.sendJson(res, 200, await all()));
        const pipeline = pumps.locatePipeline(id);
        if (action === undefined) {
          return get(async () => {
            const view = pipeline && (supervisor ? (await all())[id] : pipeline.describe());
            if (!view) throw new HttpError(404, `pipeline '${id}' not found`);
            this.sendJson(res, 200, view);
          });
        }
        if (action !== "clear-error") throw new HttpError(404, `no such endpoint: ${path}`);
        if (method !== "POST") throw new HttpError(405, `method ${method} not allowed`, { Allow: "POST" });
        const refused = stateChangeRefusal(req, this.token !== "");
        if (refused) throw new HttpError(refused.status, refused.message);
        this.requireToken(req, this.token);
        await this.readJsonBody(req);
        if (!pipeline) throw new HttpError(404, `pipeline '${id}' not found`);
        const wasError = supervisor ? (await supervisor.clearError(id)).cleared : pipeline.isError();
        if (wasError && !supervisor) pipeline.setError(null, null, null);
        this.log.info(`Pipeline '${id}' error ${wasError ? "cleared" : "clear requested (no error)"} over the web API`);
        return this.sendJson(res, 200, { ok: true, pipeline: id, cleared: wasError });
      }
      case "lookup":
      case "lookups": {
        return get(() => {
          this.requireToken(req, this.lookupToken);
          if (id === undefined && supervisor) return supervisor.gather().then((r) => this.sendJson(res, 200, r[0]?.lookups ?? []));
          if (id === undefined) return this.sendJson(res, 200, [...pumps.lookups.values()].map((l) => safeDescribe(l)));
          // The supervisor's lookups were never loaded (the workers load their own).
          if (supervisor) throw new HttpError(501, `lookup '${id}': with worker processes each worker loads its own lookups; serve lookups to slaves from a pump without workers`);
          const lookup = pumps.lookups.get(id) ?? this.fromFactories(id);
          if (!lookup) throw new HttpError(404, `lookup '${id}' not found`);
          if (action === "meta") return this.sendJson(res, 200, safeDescribe(lookup));
          if (action !== undefined) throw new HttpError(404, `no such endpoint: ${path}`);
          return this.serveLookup(req, res, lookup);
        });
      }
      case "stream":
        if (id !== undefined) throw new HttpError(404, `no such endpoint: ${path}`);
        return get(() => this.live.attach(req, res, SECURITY_HEADERS));
      case "manifest":
        if (id !== undefined) throw new HttpError(404, `no such endpoint: ${path}`);
        return get(() => this.sendJson(res, 200, this.manifest()));
      default:
        throw new HttpError(404, `no such endpoint: ${path}`);
    }
  }

  private fromFactories(id: string): Lookup | undefined {
    for (const f of this.app.pumpService.lookupFactories) {
      const found = f.locateLookup(id);
      if (found) return found;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- endpoints

  /** The master side of lookup synchronisation: bytes with a standard ETag, 304 on If-None-Match. */
  private serveLookup(req: IncomingMessage, res: ServerResponse, lookup: Lookup): void {
    let data: Buffer;
    try {
      data = lookup.serialize();
      if (!Buffer.isBuffer(data)) throw new HttpError(501, `lookup '${lookup.id}' does not serialise to bytes`);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const error = toError(e);
      if (/not ?implemented/i.test(error.message) || error.name === "NotImplementedError") throw new HttpError(501, `lookup '${lookup.id}' cannot be serialised`);
      throw e;
    }
    const hex = createHash("sha1").update(data).digest("hex");
    const etag = `"${hex}"`;
    let counts = this.lookupCounts.get(lookup.id);
    if (!counts) this.lookupCounts.set(lookup.id, (counts = { served: 0, not_modified: 0 }));
    if (etagMatches(req.headers["if-none-match"], hex) || req.headers.etag === hex || req.headers.etag === etag) {
      counts.not_modified++;
      this.count(304);
      res.writeHead(304, { ETag: etag, ...SECURITY_HEADERS });
      res.end();
      return;
    }
    counts.served++;
    this.count(200);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length, ETag: etag, "Cache-Control": "no-cache", ...SECURITY_HEADERS });
    res.end(req.method === "HEAD" ? undefined : data);
  }

  private async health(res: ServerResponse): Promise<void> {
    const supervisor = this.app.supervisor;
    if (supervisor) {
      const { status, body } = mergedHealth(await supervisor.gather(), supervisor.status(), Math.round(Date.now() / 1000 - this.app.launchTime));
      return this.sendJson(res, status, body);
    }
    const pipelines: Record<string, string> = {};
    let failed = false;
    for (const [id, p] of this.app.pumpService.pipelines) {
      const state = p.isError() ? "error" : p.isReady() ? "ready" : "not ready";
      if (state === "error") failed = true;
      pipelines[id] = state;
    }
    this.sendJson(res, failed ? 503 : 200, { status: failed ? "error" : "ok", uptime: Math.round(Date.now() / 1000 - this.app.launchTime), pipelines });
  }

  private manifest(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      BSPUMP_VERSION: bspumpVersion(),
      NODE_VERSION: process.version,
      LAUNCHED_AT: new Date(this.app.launchTime * 1000).toISOString(),
    };
    if (process.env.CONTAINER_HOST) out.CONTAINER_HOST = process.env.CONTAINER_HOST;
    try {
      const text = readFileSync(this.manifestPath, "utf8");
      for (const line of text.split("\n")) {
        const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
        if (m && !(m[1]! in out)) out[m[1]!] = m[2]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_s, a: string, b: string) => process.env[a ?? b] ?? "");
      }
      out.MANIFEST_MTIME = statSync(this.manifestPath).mtimeMs / 1000;
    } catch {
      // no manifest file
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private requireToken(req: IncomingMessage, expected: string): void {
    if (expected === "") return;
    const header = req.headers.authorization;
    const given = typeof header === "string" && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, "").trim() : "";
    if (given === "") throw new HttpError(401, "a token is required (Authorization: Bearer <token>)", { "WWW-Authenticate": 'Bearer realm="bspump"' });
    const a = createHash("sha256").update(given).digest();
    const b = createHash("sha256").update(expected).digest();
    if (!timingSafeEqual(a, b)) throw new HttpError(403, "wrong token");
  }

  /** Reads a request body of at most `max_body` bytes; it must be empty or a JSON object. */
  private async readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > this.maxBody) {
      req.resume();
      throw new HttpError(413, `request body larger than ${this.maxBody} bytes`, { Connection: "close" });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBody) {
        req.resume();
        throw new HttpError(413, `request body larger than ${this.maxBody} bytes`, { Connection: "close" });
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8").trim();
    if (text === "") return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HttpError(400, "request body is not valid JSON");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new HttpError(400, "request body must be a JSON object");
    return parsed as Record<string, unknown>;
  }

  private count(status: number): void {
    const key = `status.${Math.floor(status / 100)}xx` as keyof typeof this.counts;
    if (key in this.counts) this.counts[key]++;
  }

  private send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
    this.count(status);
    const data = Buffer.from(body, "utf8");
    res.writeHead(status, { "Content-Type": type, "Content-Length": data.length, "Cache-Control": "no-store", ...SECURITY_HEADERS, ...headers });
    res.end(res.req.method === "HEAD" ? undefined : data);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, status, JSON.stringify(body, jsonReplacer), "application/json; charset=utf-8", headers);
  }
}

/** The supervisor's own series: its components were built but never run (their zeros would clash with the workers' totals). */
function isSupervisorOwn(sample: MetricSample): boolean {
  return sample.name.startsWith("bspump.web") || sample.name.startsWith("bspump.supervisor");
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`[web] ${key}: cannot read '${path}': ${(e as Error).message}`);
  }
}

function safeDescribe(lookup: Lookup): Record<string, unknown> {
  try {
    return lookup.describe();
  } catch (e) {
    return { Id: lookup.id, Class: lookup.constructor.name, Error: toError(e).message };
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
