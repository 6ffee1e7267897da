import { readFile, stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFileSync } from "node:fs";
import type { Logger } from "../core/index.js";

/** What a provider's `load()` answers. */
export type ProviderResult =
  | { status: "changed"; data: Buffer }
  | { status: "unchanged" }
  /** The source could not be reached or answered an error: the lookup may fall back to its persisted copy. */
  | { status: "unavailable"; reason: string }
  /** The master cannot serialise this lookup (501): keep what we have, no fallback. */
  | { status: "unsupported"; reason: string };

/** Counts kept by a provider; exported as metrics by the lookup. */
export interface ProviderStats {
  loads: number;
  changed: number;
  unchanged: number;
  unavailable: number;
}

/** Loads a lookup's bytes from somewhere (BSPump's LookupBatchProviderABC). */
export abstract class LookupProvider {
  readonly stats: ProviderStats = { loads: 0, changed: 0, unchanged: 0, unavailable: 0 };
  /** When the source (a file, the master) last answered, changed or not (seconds since the epoch); null: never. */
  answeredAt: number | null = null;
  /** True when the data comes from a master pump (the lookup is then a slave). */
  abstract readonly isSlave: boolean;

  constructor(readonly url: string) {}

  protected abstract fetch(): Promise<ProviderResult>;

  async load(): Promise<ProviderResult> {
    this.stats.loads++;
    let result: ProviderResult;
    try {
      result = await this.fetch();
    } catch (e) {
      result = { status: "unavailable", reason: (e as Error).message };
    }
    if (result.status === "changed" || result.status === "unchanged") this.answeredAt = Date.now() / 1000;
    if (result.status === "changed") this.stats.changed++;
    else if (result.status === "unchanged") this.stats.unchanged++;
    else this.stats.unavailable++;
    return result;
  }

  /** Gives up a load in progress (on stop); it then answers `unavailable`. */
  abort(): void {}

  describe(): Record<string, unknown> {
    return { Class: this.constructor.name, URL: this.url, ...this.stats, AnsweredAt: this.answeredAt };
  }
}

/**
 * Reads a whole file. Reloads only when the file's size or modification time changed, so a
 * periodic reload costs one `stat`.
 */
export class FileLookupProvider extends LookupProvider {
  readonly isSlave = false;
  private lastSignature = "";

  constructor(readonly path: string) {
    super(path);
  }

  protected async fetch(): Promise<ProviderResult> {
    let info;
    try {
      info = await stat(this.path);
    } catch (e) {
      return { status: "unavailable", reason: `cannot read '${this.path}': ${(e as Error).message}` };
    }
    if (!info.isFile()) return { status: "unavailable", reason: `'${this.path}' is not a file` };
    const signature = `${info.size}:${info.mtimeMs}`;
    if (signature === this.lastSignature) return { status: "unchanged" };
    const data = await readFile(this.path);
    this.lastSignature = signature;
    return { status: "changed", data };
  }
}

export interface HTTPProviderOptions {
  /**
   * Seconds for the whole request, answer included (BSPump's `master_timeout`, 30): a master that
   * trickles bytes cannot hold the slave longer.
   */
  timeout: number;
  /** Largest answer in bytes; a larger one is abandoned (unavailable), not buffered. */
  maxSize: number;
  /** Sent as `Authorization: Bearer <token>` when not empty. */
  token: string;
  /** Extra CA certificate (PEM file) trusted for https masters, e.g. a self-signed one. */
  caFile: string;
  log: Logger;
}

/**
 * Pulls a lookup from a master pump (or any HTTP(S) URL) with the standard conditional request:
 * `If-None-Match: <ETag>` → 304 keeps the data. Status handling follows BSPump's
 * HTTPBatchLookupProvider: 404 and other errors → unavailable (fall back to the persisted copy),
 * 501 → unsupported.
 */
export class HTTPLookupProvider extends LookupProvider {
  readonly isSlave = true;
  /** The ETag of the last 200 response, exactly as the master sent it (quoted). */
  etag: string | null = null;
  private readonly ca: Buffer | undefined;
  /** The request in progress, for abort(). */
  private current: { destroy(error: Error): void } | null = null;

  constructor(
    url: string,
    private readonly options: HTTPProviderOptions,
  ) {
    super(url);
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`Not an HTTP(S) URL: '${url}'`);
    this.ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  protected fetch(): Promise<ProviderResult> {
    const url = new URL(this.url);
    const headers: Record<string, string> = { Accept: "application/octet-stream, */*" };
    if (this.etag !== null) headers["If-None-Match"] = this.etag;
    if (this.options.token !== "") headers.Authorization = `Bearer ${this.options.token}`;
    const https = url.protocol === "https:";
    const send = https ? httpsRequest : httpRequest;
    const { timeout, maxSize } = this.options;
    return new Promise<ProviderResult>((resolveOnce) => {
      let deadline: NodeJS.Timeout | undefined;
      const resolve = (result: ProviderResult) => {
        clearTimeout(deadline);
        this.current = null;
        resolveOnce(result);
      };
      const req = send(url, { method: "GET", headers, timeout: timeout * 1000, ...(https && this.ca ? { ca: this.ca } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 304) {
          res.resume();
          resolve({ status: "unchanged" });
          return;
        }
        if (status === 501) {
          res.resume();
          resolve({ status: "unsupported", reason: "the master does not support serialisation of this lookup (501)" });
          return;
        }
        if (status !== 200) {
          res.resume();
          resolve({ status: "unavailable", reason: `master answered ${status}` });
          return;
        }
        const tooLarge = () => req.destroy(new Error(`the answer is larger than master_max_size (${maxSize} bytes)`));
        if (Number(res.headers["content-length"] ?? 0) > maxSize) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > maxSize) {
            chunks.length = 0;
            tooLarge();
          } else chunks.push(c);
        });
        res.on("error", (e) => resolve({ status: "unavailable", reason: e.message }));
        res.on("aborted", () => resolve({ status: "unavailable", reason: "the master closed the connection mid-answer" }));
        res.on("end", () => {
          if (size > maxSize) return;
          const etag = res.headers.etag;
          this.etag = typeof etag === "string" && etag !== "" ? etag : null;
          resolve({ status: "changed", data: Buffer.concat(chunks) });
        });
      });
      // `timeout` above is an idle timeout; this bounds the whole exchange.
      deadline = setTimeout(() => req.destroy(new Error(`no complete answer within master_timeout (${timeout} s)`)), timeout * 1000);
      deadline.unref();
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeout} s`)));
      req.on("error", (e) => resolve({ status: "unavailable", reason: e.message }));
      this.current = req;
      req.end();
    });
  }

  override abort(): void {
    this.current?.destroy(new Error("stopping"));
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), ETag: this.etag };
  }
}

/**
 * The source URL of a lookup from BSPump's keys. Unlike BSPump, an `https://` master keeps its
 * scheme, and an empty `master_url` (the default) means "no master".
 */
export function buildMasterURL(masterURL: string, endpoint: string, lookupId: string): string {
  let server = masterURL.trim().replace(/\/+$/, "");
  if (!/^https?:\/\//i.test(server)) server = `http://${server.replace(/^\/+/, "")}`;
  const path = endpoint.replace(/^\/+|\/+$/g, "");
  return `${server}/${path ? path + "/" : ""}${encodeURIComponent(lookupId)}`;
}
