import * as http from "node:http";
import * as https from "node:https";

/** What the client needs to reach a cluster. */
export interface ElasticSearchClientOptions {
  /** Node URLs (`http://h1:9200`, `https://h2:9200/`); requests go round robin over the live ones. */
  urls: readonly string[];
  username?: string;
  password?: string;
  /** Sent as `Authorization: ApiKey <key>`. */
  apiKey?: string;
  /** PEM CA certificate(s) to trust for https nodes. */
  ca?: Buffer | string;
  /** Verify the server certificate (default true). */
  verify?: boolean;
  /** Seconds per request (default 300, as BSPump's `timeout`). */
  timeout?: number;
  /** Seconds a node that failed at the network level is skipped (default 5). */
  deadNodeRetry?: number;
  /** Sockets kept open per node (default 16). */
  maxSockets?: number;
}

/** An answer from a node (any HTTP status). */
export interface ElasticSearchResponse {
  status: number;
  body: Buffer;
  /** The node that answered. */
  url: string;
}

/** The node could not be reached or the connection broke (no HTTP answer). */
export class ElasticSearchNetworkError extends Error {
  override name = "ElasticSearchNetworkError";
  constructor(
    message: string,
    readonly url: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Node {
  url: URL;
  base: string;
  agent: http.Agent;
  deadUntil: number;
  failures: number;
}

/**
 * A small REST client for Elasticsearch and OpenSearch (tested: OpenSearch 2.19) over
 * `node:http(s)` with keep-alive agents: round robin over the node URLs, a node that failed at the network level is skipped for a
 * while (and tried again later), basic auth or an API key, TLS with a CA file or without
 * verification. It does not retry by itself: callers decide (see `requestWithRetry`).
 */
export class ElasticSearchClient {
  readonly nodes: readonly Node[];
  private readonly headers: Record<string, string>;
  private next = 0;
  private readonly timeoutMs: number;
  private readonly deadNodeRetryMs: number;

  constructor(options: ElasticSearchClientOptions) {
    if (options.urls.length === 0) throw new Error("No Elasticsearch URL given");
    if (options.username && options.apiKey) throw new Error("Give either a username and password or an API key, not both");
    this.timeoutMs = (options.timeout ?? 300) * 1000;
    this.deadNodeRetryMs = (options.deadNodeRetry ?? 5) * 1000;
    this.headers = {};
    if (options.username) this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64")}`;
    else if (options.apiKey) this.headers.authorization = `ApiKey ${options.apiKey}`;
    const maxSockets = options.maxSockets ?? 16;
    this.nodes = options.urls.map((raw) => {
      const url = new URL(raw.includes("://") ? raw : `http://${raw}`);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`Elasticsearch URL '${raw}' must be http:// or https://`);
      const agent =
        url.protocol === "https:"
          ? new https.Agent({ keepAlive: true, maxSockets, ca: options.ca, rejectUnauthorized: options.verify ?? true })
          : new http.Agent({ keepAlive: true, maxSockets });
      const base = url.href.endsWith("/") ? url.href : `${url.href}/`;
      return { url, base, agent, deadUntil: 0, failures: 0 };
    });
  }

  /** Node URLs, each ending in `/`. */
  get urls(): string[] {
    return this.nodes.map((n) => n.base);
  }

  /** The next live node, round robin; when all are dead, the one that comes back first. */
  private pickNode(): Node {
    const now = Date.now();
    const n = this.nodes.length;
    for (let i = 0; i < n; i++) {
      const node = this.nodes[(this.next + i) % n]!;
      if (node.deadUntil <= now) {
        this.next = (this.next + i + 1) % n;
        return node;
      }
    }
    let best = this.nodes[0]!;
    for (const node of this.nodes) if (node.deadUntil < best.deadUntil) best = node;
    return best;
  }

  /** True when at least one node is not marked dead. */
  get anyAlive(): boolean {
    const now = Date.now();
    return this.nodes.some((n) => n.deadUntil <= now);
  }

  /**
   * One request to one node. `path` is relative to the node URL (`my-index/_bulk?…`).
   * Resolves with any HTTP answer; rejects with ElasticSearchNetworkError when there is none.
   */
  request(method: string, path: string, body?: string | Buffer | object, contentType = "application/json"): Promise<ElasticSearchResponse> {
    const node = this.pickNode();
    const payload = body === undefined ? undefined : typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...this.headers, accept: "application/json" };
    let buf: Buffer | undefined;
    if (payload !== undefined) {
      buf = typeof payload === "string" ? Buffer.from(payload) : payload;
      headers["content-type"] = contentType;
      headers["content-length"] = buf.length;
    }
    const target = new URL(path.replace(/^\/+/, ""), node.base);
    const mod = target.protocol === "https:" ? https : http;
    return new Promise<ElasticSearchResponse>((resolve, reject) => {
      let settled = false;
      const req = mod.request(target, { method, headers, agent: node.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (settled) return;
          settled = true;
          node.failures = 0;
          node.deadUntil = 0;
          resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), url: node.base });
        });
        res.on("error", (e: NodeJS.ErrnoException) => fail(e));
      });
      const fail = (e: NodeJS.ErrnoException): void => {
        if (settled) return;
        settled = true;
        node.failures++;
        node.deadUntil = Date.now() + Math.min(this.deadNodeRetryMs * node.failures, this.deadNodeRetryMs * 6);
        reject(new ElasticSearchNetworkError(`${method} ${node.base}${path.split("?")[0]}: ${e.message}`, node.base, e.code));
      };
      req.on("timeout", () => req.destroy(Object.assign(new Error(`timed out after ${this.timeoutMs / 1000} s`), { code: "ETIMEDOUT" })));
      req.on("error", fail);
      req.end(buf);
    });
  }

  /** A request whose answer must be JSON with a 2xx status; anything else throws with the reason. */
  async json<T = Record<string, unknown>>(method: string, path: string, body?: string | Buffer | object): Promise<T> {
    const res = await this.request(method, path, body);
    const text = res.body.toString("utf8");
    if (res.status < 200 || res.status >= 300) throw new ElasticSearchHttpError(method, path, res.status, text);
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  /**
   * A request retried on network errors, 429 and 5xx, with exponential backoff (`backoff` seconds,
   * doubling up to `maxBackoff`), `retries` times (0: forever, until `shouldStop()` says so).
   */
  async requestWithRetry(
    method: string,
    path: string,
    body: string | Buffer | object | undefined,
    options: { retries?: number; backoff?: number; maxBackoff?: number; contentType?: string; shouldStop?: () => boolean; onRetry?: (reason: string, attempt: number) => void } = {},
  ): Promise<ElasticSearchResponse> {
    const retries = options.retries ?? 5;
    let delay = (options.backoff ?? 0.5) * 1000;
    const maxDelay = (options.maxBackoff ?? 30) * 1000;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let network = false;
      try {
        const res = await this.request(method, path, body, options.contentType);
        if (res.status !== 429 && res.status < 500) return res;
        reason = `HTTP ${res.status} from ${res.url}: ${res.body.toString("utf8").slice(0, 300)}`;
        if ((retries > 0 && attempt > retries) || options.shouldStop?.()) return res;
      } catch (e) {
        if (!(e instanceof ElasticSearchNetworkError)) throw e;
        reason = e.message;
        network = true;
        if ((retries > 0 && attempt > retries) || options.shouldStop?.()) throw e;
      }
      options.onRetry?.(reason, attempt);
      // A dead node is skipped by the next attempt at once when another node is alive.
      if (!network || !this.anyAlive || attempt > this.nodes.length) {
        await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  close(): void {
    for (const node of this.nodes) node.agent.destroy();
  }
}

/** A non-2xx answer where a 2xx was needed. */
export class ElasticSearchHttpError extends Error {
  override name = "ElasticSearchHttpError";
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path.split("?")[0]} answered ${status}: ${body.slice(0, 500)}`);
  }
}

/**
 * Splits BSPump's URL syntax: several URLs separated by whitespace or `;`, where
 * `http://h1:9200;h2:9200/` names two nodes sharing the first one's scheme.
 */
export function parseUrls(value: string): string[] {
  const out: string[] = [];
  for (const line of value.split(/\s+/)) {
    if (!line) continue;
    let scheme = "http://";
    for (let part of line.split(";")) {
      part = part.trim();
      if (!part) continue;
      const m = /^(https?:\/\/)/.exec(part);
      if (m) scheme = m[1]!;
      else part = scheme + part;
      out.push(part.endsWith("/") ? part : `${part}/`);
    }
  }
  return out;
}
