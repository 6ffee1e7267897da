import { createHash } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Lookup, toError, type Application, type ConfigSpec, type TypedConfig, type LookupOptions, type MetricSample } from "../core/index.js";
import { buildMasterURL, FileLookupProvider, HTTPLookupProvider, type LookupProvider } from "./LookupProvider.js";

const CONFIG = {
  source_url: { type: "string", default: "", doc: "Where to load from: a file path, file:/path, or http(s)://… (a master pump or any URL)" },
  master_url: { type: "string", default: "", doc: "Master pump URL (http(s)://host:port); empty: not a slave. Used when source_url is empty" },
  master_url_endpoint: { type: "string", default: "/bspump/v1/lookup/", doc: "Path of the lookup endpoint on the master" },
  master_lookup_id: { type: "string", default: "", doc: "Id of the lookup on the master (default: this lookup's id)" },
  master_timeout: { type: "float", default: 30, doc: "Seconds for a whole request to the master, answer included", min: 0.001, max: 86400 },
  master_max_size: { type: "int", default: 134217728, doc: "Largest answer taken from the master, in bytes (a larger one is refused and the lookup keeps its data)", min: 1 },
  master_token: { type: "string", default: "", doc: "Shared token sent to the master as 'Authorization: Bearer'", secret: true },
  master_ca_file: { type: "string", default: "", doc: "PEM file of an extra CA trusted for an https master (self-signed)" },
  update_period: { type: "float", default: 10, doc: "Seconds between reloads from the source (slaves poll the master); 0: load only at start", min: 0, max: 86400 },
  use_cache: { type: "bool", default: true, doc: "Persist the content to its own file after each change and use it when the source is unreachable" },
  cache_dir: { type: "string", default: "", doc: "Folder of the persisted copy (default: [general] var_dir; neither set: no persistence)" },
} satisfies ConfigSpec;

/**
 * A lookup with dict-like access, loaded through a provider (file or HTTP(S) master), persisted
 * to its own file after each change, and reloaded every `update_period` seconds.
 *
 * It is a slave only when `source_url` is an http(s) URL or `master_url` is set (BSPump made every
 * lookup a slave of localhost:8080 by default). The persisted copy is
 * `<cache_dir or [general] var_dir>/lookup_<id>.cache` (one file per lookup) and is loaded at start
 * when the source is unreachable. A slave with a persisted copy starts on it at once and asks the
 * master in the background, so a slow master does not hold the pipelines back.
 */
export abstract class MappingLookup extends Lookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  provider: LookupProvider | null = null;
  /** Set once content was loaded (from the source, the persisted copy or by hand). */
  loaded = false;
  readonly updatePeriod: number;
  readonly cacheFile: string | null;
  /** Counters exported as `bspump.lookup` metrics. */
  readonly stats = { persisted_saves: 0, persisted_loads: 0, local_changes: 0 };

  private updating: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> | null = null;
  private lastProblem = "";
  /** Set when the lookup started on its persisted copy and still has to ask its master. */
  private askMasterSoon = false;
  private background: Promise<unknown> | null = null;
  private notifyScheduled = false;

  constructor(app: Application, id?: string, options: LookupOptions = {}) {
    super(app, id, options);
    this.updatePeriod = this.config.getFloat("update_period");
    const dir = this.config.getString("cache_dir") || app.config.get("general", "var_dir") || "";
    this.cacheFile = this.config.getBool("use_cache") && dir !== "" ? join(dir, `lookup_${safeFileName(this.id)}.cache`) : null;
    const url = this.sourceURL();
    if (url !== "") this.provider = this.createProvider(url);
    app.pubsub.subscribe("Application.run!", () => this.startPolling());
    // A request to the master must not hold a stop, also while the application is still starting
    // (the first load of a slave without a persisted copy; finalize() comes only after it).
    app.pubsub.subscribe("Application.stopRequested!", () => this.provider?.abort());
    app.metrics.addCollector((): MetricSample[] => [
      { name: "bspump.lookup", type: "gauge", tags: { lookup: this.id }, fields: { size: this.size, master: this.isMaster() ? 1 : 0 } },
      {
        name: "bspump.lookup.load",
        type: "counter",
        tags: { lookup: this.id },
        fields: { ...(this.provider?.stats ?? { loads: 0, changed: 0, unchanged: 0, unavailable: 0 }), ...this.stats },
      },
    ]);
  }

  /** The source URL from `source_url`, else from `master_url` (+ endpoint + master lookup id). */
  sourceURL(): string {
    const source = this.config.getString("source_url").trim();
    if (source !== "") return source;
    const master = this.config.getString("master_url").trim();
    if (master === "") return "";
    return buildMasterURL(master, this.config.getString("master_url_endpoint"), this.config.getString("master_lookup_id") || this.id);
  }

  protected createProvider(url: string): LookupProvider {
    if (/^https?:\/\//i.test(url)) {
      return new HTTPLookupProvider(url, {
        timeout: this.config.getFloat("master_timeout"),
        maxSize: this.config.getInt("master_max_size"),
        token: this.config.getString("master_token"),
        caFile: this.config.getString("master_ca_file"),
        log: this.log,
      });
    }
    return new FileLookupProvider(url.replace(/^file:(\/\/)?/, ""));
  }

  override isMaster(): boolean {
    return !(this.provider?.isSlave ?? false);
  }

  /** Turns the source's bytes into content; by default the serialised form (`deserialize`). */
  protected loadSourceData(data: Buffer): void {
    this.deserialize(data);
  }

  override async load(): Promise<boolean> {
    if (this.provider === null) return this.loaded ? false : this.loadPersisted();
    if (!this.loaded && this.provider.isSlave && this.provider.stats.loads === 0 && (await this.loadPersisted())) {
      this.askMasterSoon = true;
      return true;
    }
    const result = await this.provider.load();
    switch (result.status) {
      case "changed":
        try {
          this.loadSourceData(result.data);
        } catch (e) {
          // Ask for the full content again next time rather than a 304 for data we could not read.
          if (this.provider instanceof HTTPLookupProvider) this.provider.etag = null;
          throw e;
        }
        this.loaded = true;
        this.noteProblem("");
        this.log.info(`Lookup '${this.id}' loaded from ${this.provider.url}`, { size: this.size });
        return true;
      case "unchanged":
        this.noteProblem("");
        return false;
      case "unsupported":
        this.noteProblem(result.reason);
        return false;
      case "unavailable":
        this.noteProblem(`${this.provider.url}: ${result.reason}`);
        return this.loaded ? false : this.loadPersisted();
    }
  }

  /** Loads and notifies; concurrent calls share one load. */
  override update(): Promise<boolean> {
    if (this.updating) return this.updating;
    this.updating = super.update().finally(() => {
      this.updating = null;
      if (this.askMasterSoon) {
        // Started on the persisted copy: now the master, without anyone waiting for it.
        this.askMasterSoon = false;
        this.background = this.update().catch((e) => this.log.error(`Lookup '${this.id}' update failed`, { error: toError(e) }));
      }
    });
    return this.updating;
  }

  /** After a content change: a new ETag, subscribers notified, the persisted copy rewritten. */
  override changed(): void {
    this.etag = null;
    super.changed();
    this.schedulePersist();
  }

  /**
   * For dynamic updates (many per second): marks the content changed and notifies once per turn
   * of the event loop.
   */
  protected touch(): void {
    this.loaded = true;
    this.etag = null;
    this.stats.local_changes++;
    if (this.provider instanceof HTTPLookupProvider) this.provider.etag = null;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => this.flushNotice());
  }

  private flushNotice(): void {
    if (!this.notifyScheduled) return;
    this.notifyScheduled = false;
    this.changed();
  }

  /** The content's ETag (sha1 of `serialize()`), computed when asked. */
  currentETag(): string {
    if (this.etag === null) this.etag = createHash("sha1").update(this.serialize()).digest("hex");
    return this.etag;
  }

  override describe(): Record<string, unknown> {
    return {
      ...super.describe(),
      ETag: this.currentETag(),
      MasterURL: this.provider?.isSlave ? this.provider.url : null,
      SourceURL: this.provider?.url ?? null,
      Provider: this.provider?.describe() ?? null,
      CacheFile: this.cacheFile,
      UpdatePeriod: this.updatePeriod,
      Loaded: this.loaded,
      // Why the last load from the source (file, master) failed; null when it answered.
      Problem: this.lastProblem === "" ? null : this.lastProblem,
    };
  }

  private noteProblem(problem: string): void {
    if (problem === this.lastProblem) return;
    if (problem !== "") this.log.warn(`Lookup '${this.id}' not loaded: ${problem}`);
    else if (this.lastProblem !== "") this.log.info(`Lookup '${this.id}' source reachable again`);
    this.lastProblem = problem;
  }

  private startPolling(): void {
    if (this.updatePeriod <= 0 || this.timer !== null || this.provider === null) return;
    this.timer = setInterval(() => {
      this.update().catch((e) => this.log.error(`Lookup '${this.id}' update failed`, { error: toError(e) }));
    }, this.updatePeriod * 1000);
    this.timer.unref();
  }

  // ---------------------------------------------------------------- persistence

  /** Loads the persisted copy; true when there was one. A corrupt file is reported and deleted. */
  async loadPersisted(): Promise<boolean> {
    if (this.cacheFile === null) return false;
    let raw: Buffer;
    try {
      raw = await readFile(this.cacheFile);
    } catch {
      return false;
    }
    try {
      const { etag, payload } = decodeCacheFile(raw);
      this.deserialize(payload);
      if (this.provider instanceof HTTPLookupProvider && etag !== "") this.provider.etag = etag;
      this.loaded = true;
      this.stats.persisted_loads++;
      this.log.warn(`Lookup '${this.id}' loaded from its persisted copy ${this.cacheFile}`, { size: this.size });
      return true;
    } catch (e) {
      this.log.error(`Persisted copy of lookup '${this.id}' is corrupt; deleting ${this.cacheFile}`, { error: toError(e) });
      await unlink(this.cacheFile).catch(() => undefined);
      return false;
    }
  }

  private schedulePersist(): void {
    if (this.cacheFile === null || this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.persist();
    }, 100);
    this.saveTimer.unref();
  }

  /** Writes the persisted copy atomically (temporary file + rename). */
  async persist(): Promise<void> {
    if (this.cacheFile === null) return;
    if (this.saving) await this.saving;
    const file = this.cacheFile;
    const etag = this.provider instanceof HTTPLookupProvider ? (this.provider.etag ?? "") : "";
    const data = encodeCacheFile(etag, this.serialize());
    const tmp = `${file}.${process.pid}.tmp`;
    this.saving = (async () => {
      try {
        await mkdir(join(file, ".."), { recursive: true });
        await writeFile(tmp, data);
        await rename(tmp, file);
        this.stats.persisted_saves++;
      } catch (e) {
        this.log.error(`Cannot persist lookup '${this.id}' to ${file}`, { error: toError(e) });
      }
    })();
    await this.saving;
    this.saving = null;
  }

  override async finalize(): Promise<void> {
    // A request to the master in progress must not hold the stop.
    this.provider?.abort();
    await this.background;
    this.flushNotice();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      await this.persist();
    }
    if (this.saving) await this.saving;
  }
}

/** BSPump's cache layout: uint32 LE length of the ETag, the ETag (UTF-8), `\n`, the payload. */
export function encodeCacheFile(etag: string, payload: Buffer): Buffer {
  const tag = Buffer.from(etag, "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32LE(tag.length, 0);
  return Buffer.concat([head, tag, Buffer.from("\n"), payload]);
}

export function decodeCacheFile(raw: Buffer): { etag: string; payload: Buffer } {
  if (raw.length < 5) throw new Error("file too short");
  const n = raw.readUInt32LE(0);
  if (4 + n + 1 > raw.length || raw[4 + n] !== 0x0a) throw new Error("bad header");
  return { etag: raw.subarray(4, 4 + n).toString("utf8"), payload: raw.subarray(5 + n) };
}

function safeFileName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_");
}
