import { join } from "node:path";
import type ZongJiClass from "@vlasky/zongji";
import type { AnyBinlogEvent } from "@vlasky/zongji";
import {
  ConfigError,
  locateConnection,
  Source,
  toError,
  type Application,
  type ComponentOptions,
  type ConfigSpec,
  type EventContext,
  type Pipeline,
  type Receipt,
  type TypedConfig,
} from "../core/index.js";
import { BINLOG_EVENT_TYPES, otherEvent, rowsEvent, TRACKED_EVENTS, TYPE_NAMES } from "./binlogEvents.js";
import { BinlogPositionFile, SettledPosition, type BinlogPosition, type BinlogTransaction } from "./binlogPosition.js";
import { isRetryable, MySQLConnection } from "./MySQLConnection.js";

/** Server errors after which reading again from the same position cannot succeed. */
const FATAL_ERRNOS = new Set([
  1236, // ER_MASTER_FATAL_ERROR_READING_BINLOG: the file was purged, or the position is not an event's start
  1945, // ER_GTID_POSITION_NOT_FOUND_IN_BINLOG / ahead of the log (MariaDB)
  1955,
  1045, // access denied
  1227, // a privilege (REPLICATION SLAVE, BINLOG MONITOR) is missing
  1142,
]);

/** How one read of the log ended. */
type StreamEnd = { kind: "stopped" } | { kind: "failed" } | { kind: "again" } | { kind: "retry"; error: Error } | { kind: "fatal"; error: Error };

const CONFIG = {
  server_id: { type: "int", default: 1, min: 1, max: 4294967295, doc: "Replica id announced to the server: unique among its replicas and binlog readers (a second reader with the same id disconnects the first)" },
  log_file: { type: "string", default: "", doc: "Binlog file to start from when no position is stored; empty: the end of the current log" },
  log_pos: { type: "int", default: 4, min: 4, doc: "Position in `log_file` to start from" },
  auto_position: { type: "bool", default: false, doc: "Resume from the stored GTID position (valid on any server of the replication topology) instead of file and position" },
  extract_events: { type: "string", default: "DeleteRowsEvent UpdateRowsEvent WriteRowsEvent", doc: `Event types emitted, separated by spaces or lines: ${Object.keys(BINLOG_EVENT_TYPES).join(", ")}` },
  only_schemas: { type: "list", default: "", doc: "Emit rows of these databases only (empty: all)" },
  only_tables: { type: "list", default: "", doc: "Emit rows of these tables only, as `schema.table` (empty: all)" },
  position_file: { type: "string", default: "", doc: "JSON file of the stored position (default: <[general] var_dir>/mysqlbinlog_<pipeline>_<id>.json; neither: not stored)" },
  position_save_period: { type: "float", default: 1.0, min: 0, doc: "Seconds between saves of the settled position (0: after every settled transaction); a crash replays at most this much" },
} satisfies ConfigSpec;

/**
 * Change data capture from the binary log of MariaDB (or MySQL): reads the row-based log as a
 * replica does (`@vlasky/zongji`) and emits each rows event — inserts, updates (before and after
 * values), deletes — with column names and typed values, in commit order, with its binlog file,
 * position and GTID. One receipt per transaction: the stored position (`position_file`) moves to a
 * transaction's end only when it and all before it are settled, so a restart — after a crash too —
 * reads again from there and loses nothing (the unsettled tail may arrive twice). While the
 * pipeline is throttled the replication connection is paused, so nothing is buffered beyond one
 * network read.
 */
export class MySQLBinaryLogSource extends Source {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  static override ConnectionClass = MySQLConnection;

  readonly connection: MySQLConnection;
  readonly serverId: number;
  readonly autoPosition: boolean;
  /** BSPump type names emitted. */
  readonly extract: ReadonlySet<string>;
  readonly positionFile: BinlogPositionFile | null;
  private readonly savePeriod: number;
  private readonly includeSchema: Record<string, string[] | true> | undefined;

  /** The settled position; null until main() found where to start. */
  settled: SettledPosition | null = null;
  private zongji: ZongJiClass | null = null;
  private tx: BinlogTransaction | null = null;
  private readonly primaryKeys = new Map<number, string | string[] | null>();
  /** Bumped per read of the log: receipts of an abandoned read are ignored. */
  private epoch = 0;
  private endStream: ((end: StreamEnd) => void) | null = null;
  private paused = false;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();
  private savedVersion = -1;
  /** Tables whose columns could not be read (dropped before the reader asked): skipped, with a warning. */
  private readonly skipped: Record<string, string[]> = {};

  /** Counters: rows events and rows emitted, transactions settled, reads of the log started, saves. */
  readonly stats = { events: 0, rows: 0, transactions: 0, reads: 0, saves: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | MySQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, MySQLConnection);
    this.serverId = this.config.getInt("server_id");
    this.autoPosition = this.config.getBool("auto_position");
    const where = `[pipeline:${pipeline.id}:${this.id}]`;
    const types = this.config.getString("extract_events").split(/[\s,]+/).filter((s) => s !== "");
    for (const t of types) {
      if (!(t in BINLOG_EVENT_TYPES)) throw new ConfigError(`${where} extract_events: unknown or unsupported event type '${t}' (one of ${Object.keys(BINLOG_EVENT_TYPES).join(", ")})`);
    }
    this.extract = new Set(types);
    this.includeSchema = includeSchema(this.config.getList("only_schemas"), this.config.getList("only_tables"), where);
    const dir = app.config.get("general", "var_dir") || "";
    const file = this.config.getString("position_file") || (dir ? join(dir, `mysqlbinlog_${pipeline.id}_${this.id}.json`) : "");
    this.positionFile = file ? new BinlogPositionFile(file) : null;
    this.savePeriod = this.config.getFloat("position_save_period");
  }

  async main(): Promise<void> {
    if (this.settled === null) {
      this.settled = new SettledPosition(await this.startPosition());
      await this.save();
    }
    let delay = 0.1;
    while (!this.stopping) {
      const began = Date.now();
      const end = await this.read(this.settled);
      // A read that went on for a while was a success: the next failure waits briefly again.
      if (Date.now() - began > 30_000) delay = 0.1;
      if (end.kind === "stopped") return;
      // In the pipeline's error state: read again from the settled position once it is cleared (restart()).
      if (end.kind === "failed" && this.pipeline.isError()) return;
      if (end.kind === "fatal") throw end.error;
      if (end.kind === "again") continue;
      if (end.kind === "retry") this.log.warn(`Binlog connection lost, reading again from ${describe(this.settled.position)} in ${delay.toFixed(1)} s: ${end.error.message}`);
      if (!(await this.sleep(delay))) return;
      delay = Math.min(this.connection.reconnectDelay, delay * 2);
    }
  }

  /** Where to start: the stored position, else `log_file`/`log_pos`, else the end of the log. */
  private async startPosition(): Promise<BinlogPosition> {
    const stored = await this.positionFile?.load();
    if (stored) {
      this.log.info(`Resuming the binlog at ${describe(stored)}`);
      return stored;
    }
    if (this.positionFile === null) this.log.warn("No position_file and no [general] var_dir: the binlog position is not stored, a restart starts at the end of the log");
    const configured = this.config.getString("log_file");
    if (configured) return { log_file: configured, log_pos: this.config.getInt("log_pos"), gtid: await this.gtidAt(configured, this.config.getInt("log_pos")) };
    // A server that is not up yet is waited for (transient errors retried), as the other MySQL components do.
    const rows = (await this.connection.withRetry(() => this.connection.query("SHOW MASTER STATUS"), () => this.stopping)) as Array<{ File: string; Position: number }>;
    if (rows.length === 0) throw new Error("The server's binary log is off (SHOW MASTER STATUS is empty): start it with log_bin, binlog_format=ROW");
    return { log_file: rows[0]!.File, log_pos: Number(rows[0]!.Position), gtid: await this.gtidAt(rows[0]!.File, Number(rows[0]!.Position)) };
  }

  /** The MariaDB GTID position at a file position ("" on MySQL, which has no BINLOG_GTID_POS). */
  private async gtidAt(file: string, pos: number): Promise<string> {
    try {
      const rows = (await this.connection.query("SELECT BINLOG_GTID_POS(?, ?) AS g", [file, pos])) as Array<{ g: string | null }>;
      return rows[0]?.g ?? "";
    } catch {
      return "";
    }
  }

  /** One read of the log from the settled position, until stopped, a failed receipt or an error. */
  private async read(settled: SettledPosition): Promise<StreamEnd> {
    const { default: ZongJi } = await import("@vlasky/zongji");
    const epoch = ++this.epoch;
    settled.reset();
    this.tx = null;
    this.primaryKeys.clear();
    this.stats.reads++;
    const z = new ZongJi(this.connection.clientOptions());
    this.zongji = z;
    let open = true;
    const ended = new Promise<StreamEnd>((resolve) => {
      // Once decided, no further event of this read is handed over (the rest of a network read
      // would otherwise still arrive before the reader is stopped). Receipts of what was handed
      // over still count until the next read begins.
      this.endStream = (end) => {
        this.endStream = null;
        open = false;
        z.connection?.pause();
        resolve(end);
      };
    });
    z.on("error", (e: Error) => this.onError(z, e));
    z.on("binlog", (e: AnyBinlogEvent) => {
      if (open) this.onEvent(z, e, settled, epoch);
    });
    const wanted = new Set(TRACKED_EVENTS);
    for (const t of this.extract) for (const n of BINLOG_EVENT_TYPES[t]!) wanted.add(n);
    const from = settled.position;
    const excludeSchema = Object.keys(this.skipped).length > 0 ? this.skipped : undefined;
    z.start({
      serverId: this.serverId,
      includeEvents: [...wanted],
      requestAnnotateRows: this.extract.has("MariadbAnnotateRowsEvent"),
      ...(this.includeSchema ? { includeSchema: this.includeSchema } : {}),
      ...(excludeSchema ? { excludeSchema } : {}),
      ...(this.autoPosition && from.gtid !== "" ? { gtidSet: from.gtid } : { filename: from.log_file, position: from.log_pos }),
    });
    const end = await ended;
    this.zongji = null;
    this.paused = false;
    z.removeAllListeners("binlog");
    z.stop();
    return end;
  }

  private onError(z: ZongJiClass, error: Error): void {
    const endStream = this.endStream;
    if (this.zongji !== z || endStream === null) return;
    const e = error as Error & { errno?: number };
    const m = /^Insufficient permissions to access: ([^.]+)\.(.+)$/.exec(e.message);
    if (m) {
      // The reader asked INFORMATION_SCHEMA for the columns of a table that no longer exists (a
      // server without binlog_row_metadata=FULL): its rows cannot be named, so they are skipped.
      // (A warning of the pipeline's logger is counted in its warnings.)
      this.log.warn(`The columns of ${m[1]}.${m[2]} are unknown (the table was dropped?): its changes are skipped`);
      (this.skipped[m[1]!] ??= []).push(m[2]!);
      endStream({ kind: "again" });
    } else if (typeof e.errno === "number" && FATAL_ERRNOS.has(e.errno)) {
      const at = this.settled ? describe(this.settled.position) : "?";
      const fix = this.positionFile ? ` Delete ${this.positionFile.path} to start at the end of the log, or set log_file and log_pos,` : " Set log_file and log_pos";
      endStream({ kind: "fatal", error: new Error(`Cannot read the binlog from ${at}: ${e.message} (errno ${e.errno}).${fix} then clear the pipeline's error`) });
    } else if (isRetryable(e) || /connect|closed|ECONN/i.test(e.message)) {
      endStream({ kind: "retry", error: e });
    } else {
      endStream({ kind: "fatal", error: e });
    }
  }

  private onEvent(z: ZongJiClass, e: AnyBinlogEvent, settled: SettledPosition, epoch: number): void {
    const name = e.getEventName();
    const logFile = z.options.filename ?? settled.position.log_file;
    switch (name) {
      case "mariadbgtid":
      case "gtid": {
        this.closeTx(logFile, null);
        // Every transaction maps its tables again before its rows: the keys need not outlive it
        // (table ids grow with every DDL; the map would grow without bound on a long run).
        this.primaryKeys.clear();
        const standalone = name === "mariadbgtid" && (e as Extract<AnyBinlogEvent, { getEventName(): "mariadbgtid" }>).standalone;
        this.tx = settled.begin(e.gtid ?? "", standalone, (tx, r) => this.txDone(tx, r, epoch));
        break;
      }
      case "tablemap": {
        const t = e as Extract<AnyBinlogEvent, { getEventName(): "tablemap" }>;
        const cols = t.tableMap[t.tableId]?.columnSchemas;
        const pk = t.primaryKey && cols ? t.primaryKey.map((i) => cols[i]?.COLUMN_NAME ?? String(i)) : null;
        this.primaryKeys.set(t.tableId, pk === null || pk.length === 0 ? null : pk.length === 1 ? pk[0]! : pk);
        break;
      }
      case "writerows":
      case "updaterows":
      case "deleterows": {
        if (!this.extract.has(TYPE_NAMES.get(name)!)) break;
        const event = rowsEvent(e, logFile, this.tx?.gtid ?? e.gtid ?? "", this.primaryKeys);
        if (event === null) break;
        this.stats.events++;
        this.stats.rows += event.rows.length;
        this.emit(event, settled, epoch);
        break;
      }
    }
    if (name !== "writerows" && name !== "updaterows" && name !== "deleterows") {
      const type = TYPE_NAMES.get(name);
      if (type !== undefined && this.extract.has(type)) this.emit(otherEvent(e, logFile, this.tx?.gtid ?? e.gtid ?? ""), settled, epoch);
    }
    // A transaction ends at its Xid, at COMMIT (non-transactional engines), or with its one statement (DDL).
    if (this.tx !== null && e.nextPosition > 0) {
      if (name === "xid") this.closeTx(logFile, e.nextPosition);
      else if (name === "query") {
        const q = (e as Extract<AnyBinlogEvent, { getEventName(): "query" }>).query.trim().toUpperCase();
        if (this.tx.standalone || q === "COMMIT" || q === "ROLLBACK") this.closeTx(logFile, e.nextPosition);
      }
    }
    if (!this.pipeline.isReady()) {
      // In the error state nothing more settles (the transaction at hand may never be sealed): stop here.
      if (this.pipeline.isError()) this.endStream?.({ kind: "failed" });
      else this.pauseUntilReady(z);
    }
  }

  private emit(event: object, settled: SettledPosition, epoch: number): void {
    // A change outside any GTID group (a stream that began inside one) still gets a receipt.
    this.tx ??= settled.begin("", false, (tx, r) => this.txDone(tx, r, epoch));
    const context: EventContext = { receipt: this.tx.receipt };
    this.pipeline.process(event, context);
  }

  /** Ends the current transaction at `pos` (null: ended by the next group without a commit seen, e.g. XA). */
  private closeTx(logFile: string, pos: number | null): void {
    const tx = this.tx;
    if (tx === null) return;
    this.tx = null;
    if (pos !== null) tx.end = { log_file: logFile, log_pos: pos };
    tx.receipt.seal();
  }

  private txDone(tx: BinlogTransaction, receipt: Receipt, epoch: number): void {
    if (epoch !== this.epoch || this.settled === null) return;
    if (receipt.error !== null) {
      this.log.warn(`Changes of transaction ${tx.gtid || "?"} failed; reading again from ${describe(this.settled.position)}`, { error: receipt.error.message });
      this.endStream?.({ kind: "failed" });
      return;
    }
    this.stats.transactions++;
    if (this.settled.settled(tx)) this.scheduleSave();
  }

  /** Pauses the replication connection until the pipeline is ready (the server's events wait in its socket). */
  private pauseUntilReady(z: ZongJiClass): void {
    const conn = z.connection;
    if (conn === null) return;
    // Paused already: the reader itself may have resumed it (after a metadata query).
    conn.pause();
    if (this.paused) return;
    this.paused = true;
    const go = this.whenReady();
    const resume = (ok: boolean): void => {
      this.paused = false;
      if (ok && this.zongji === z && z.connection === conn) conn.resume();
    };
    if (go === true) resume(true);
    else void go.then(resume);
  }

  private scheduleSave(): void {
    if (this.positionFile === null || this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.save();
    }, this.savePeriod * 1000);
  }

  /** Stores the settled position (one save at a time; skipped when unchanged). */
  async save(): Promise<void> {
    const run = async (): Promise<void> => {
      const settled = this.settled;
      if (this.positionFile === null || settled === null || settled.version === this.savedVersion) return;
      const version = settled.version;
      try {
        await this.positionFile.save(settled.position);
        this.savedVersion = version;
        this.stats.saves++;
      } catch (e) {
        this.log.error(`Cannot store the binlog position in ${this.positionFile.path}`, { error: toError(e) });
      }
    };
    this.saving = this.saving.then(run);
    await this.saving;
  }

  protected override async onStop(): Promise<void> {
    this.endStream?.({ kind: "stopped" });
  }

  override async finalize(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    await this.save();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Position: this.settled?.position ?? null, InFlight: this.settled?.inFlight ?? 0, Stats: this.stats };
  }
}

function describe(p: BinlogPosition): string {
  return `${p.log_file}:${p.log_pos}${p.gtid ? ` (GTID ${p.gtid})` : ""}`;
}

/** only_schemas and only_tables as the reader's filter; undefined: everything. */
function includeSchema(schemas: string[], tables: string[], where: string): Record<string, string[] | true> | undefined {
  if (schemas.length === 0 && tables.length === 0) return undefined;
  const filter: Record<string, string[] | true> = {};
  for (const s of schemas) filter[s] = true;
  for (const t of tables) {
    const dot = t.indexOf(".");
    if (dot <= 0 || dot === t.length - 1) throw new ConfigError(`${where} only_tables: '${t}' is not schema.table`);
    const schema = t.slice(0, dot);
    const entry = filter[schema];
    if (entry === true) continue;
    (filter[schema] = entry ?? []).push(t.slice(dot + 1));
  }
  return filter;
}
