import type { Client } from "pg";
import type { Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import {
  ConfigError,
  dependency,
  locateConnection,
  Receipt,
  Source,
  toError,
  Waiters,
  type Application,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type EventContext,
  type Pipeline,
} from "../core/index.js";
import { PostgreSQLConnection, describeError, isRetryable, parseInt8 } from "./PostgreSQLConnection.js";
import { quoteIdent, quoteName } from "./pgWrite.js";
import { formatLsn, parseLsn, readStreamMessage, statusUpdate } from "./replication.js";

const pg = dependency<typeof import("pg")>("pg");
const replication = dependency<typeof import("pg-logical-replication")>("pg-logical-replication");

/** One change, as the source emits it. */
export interface ChangeEvent {
  op: "insert" | "update" | "delete" | "truncate";
  schema: string;
  table: string;
  /** The old row (REPLICA IDENTITY FULL) or its key, for update and delete; else null. */
  before: Record<string, unknown> | null;
  /** The new row for insert and update; else null. An unchanged TOASTed value is absent. */
  after: Record<string, unknown> | null;
  /** Where the change is in the WAL, and its transaction's commit. */
  lsn: string;
  commit_lsn: string;
  commit_time: string;
  xid: number;
}

interface Txn {
  xid: number;
  commitLsn: string;
  commitTime: string;
  receipt: Receipt;
  events: number;
  /** The commit's end: what the slot may confirm once every event of this and earlier transactions settled. */
  end: bigint;
  settled: boolean;
}

/** A failure that retrying cannot fix (the slot or the publication is missing): the pipeline stops with it. */
class ReplicationSetupError extends Error {
  override name = "ReplicationSetupError";
}

const CONFIG = {
  slot_name: { type: "string", default: "", required: true, doc: "Replication slot (created when missing and create_slot is on)" },
  output_plugin: { type: "string", default: "pgoutput", choices: ["pgoutput"], doc: "Logical decoding plugin (BSPump: wal2json; pgoutput is built into PostgreSQL ≥ 10)" },
  publication_names: { type: "list", default: "", doc: "Publications to stream; empty: one named like the slot" },
  publication_tables: { type: "list", default: "", doc: "Tables of a publication created here; empty: FOR ALL TABLES (needs a superuser)" },
  create_slot: { type: "bool", default: true, doc: "Create the slot when it does not exist" },
  create_publication: { type: "bool", default: true, doc: "Create the publication when it does not exist" },
  status_interval: { type: "float", default: 10, doc: "Seconds between status updates to the server (keepalive; below wal_sender_timeout)" },
  max_unsettled: { type: "int", default: 20000, doc: "Events handed over but not settled above which reading pauses" },
  wal_sender_timeout: { type: "float", default: 0, doc: "Seconds the server waits for a status update before it drops the connection; 0: the server's setting" },
} satisfies ConfigSpec;

/**
 * Change data capture from PostgreSQL's logical replication (BSPump's
 * PostgreSQLLogicalReplicationSource, with the `pgoutput` plugin built into PostgreSQL instead of
 * wal2json): streams the changes of the tables in `publication_names` from the slot `slot_name`,
 * one event per row change (see ChangeEvent), values typed as pg types them (int8 as a number when
 * exact). Transactions come whole and in commit order; one Receipt per transaction. The slot's
 * confirmed position advances to a transaction's commit only when every event of it and of every
 * earlier transaction settled: at-least-once, a restart resumes from the slot (the unsettled tail
 * comes again). Slot and publication are created when missing (`create_slot`, `create_publication`).
 * Reading pauses while the pipeline is not ready or `max_unsettled` events wait; status updates go
 * to the server every `status_interval` seconds meanwhile, so the server does not drop the connection.
 */
export class PostgreSQLLogicalReplicationSource extends Source {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  static override ConnectionClass = PostgreSQLConnection;

  readonly connection: PostgreSQLConnection;
  readonly slot: string;
  readonly publications: string[];
  private readonly statusInterval: number;
  private readonly maxUnsettled: number;
  private client: Client | null = null;
  private plugin: PgoutputPlugin | null = null;
  private inbox: { start: bigint; payload: Buffer }[] = [];
  private inboxHead = 0;
  private draining = false;
  private paused = false;
  private txn: Txn | null = null;
  private readonly txns: Txn[] = [];
  private unsettled = 0;
  private readonly roomWaiters = new Waiters();
  private statusTimer: NodeJS.Timeout | null = null;
  /** Position confirmed to the server: everything before it is settled. */
  confirmed = 0n;
  /** Position last sent to the server. */
  private sent = 0n;
  /** Has this source streamed from the slot (a slot missing afterwards was dropped under it)? */
  private streamed = false;
  readonly counts = { events: 0, transactions: 0, statusUpdates: 0, reconnects: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | PostgreSQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, PostgreSQLConnection);
    this.slot = this.config.getString("slot_name");
    if (!/^[a-z0-9_]{1,63}$/.test(this.slot)) throw new ConfigError(`[${this.config.section}] slot_name: PostgreSQL allows lower-case letters, digits and _ (1–63), got '${this.slot}'`);
    const pubs = this.config.getList("publication_names");
    this.publications = pubs.length > 0 ? pubs : [this.slot];
    this.statusInterval = Math.max(0.1, this.config.getFloat("status_interval"));
    this.maxUnsettled = Math.max(1, this.config.getInt("max_unsettled"));
    app.metrics.addCollector(() => [{ name: "bspump.postgresql.replication", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.counts, unsettled: this.unsettled } }]);
  }

  async main(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      try {
        await this.ensureSlot();
        attempt = 0;
        await this.stream();
        // The server ended the stream (CopyDone, a shutdown): reconnect, but not in a tight loop.
        if (this.stopping) return;
        this.counts.reconnects++;
        this.log.warn(`The server ended the replication stream of slot ${this.slot}; reconnecting`);
        if (!(await this.sleep(this.connection.reconnectDelay))) return;
      } catch (e) {
        if (this.stopping) return;
        // 55006: the slot is still held by a walsender (ours, exiting after a lost connection, or
        // another pump's): wait for it, as a standby.
        if (!isRetryable(e) && (e as { code?: string }).code !== "55006") throw e instanceof ReplicationSetupError ? e : new ReplicationSetupError(`Replication from slot ${this.slot}: ${describeError(e)}`);
        this.counts.reconnects++;
        if (!(await this.sleep(this.connection.transient(e, attempt++)))) return;
      }
    }
  }

  /** The publication and the slot, created when missing (if allowed), or a clear error. */
  private async ensureSlot(): Promise<void> {
    const c = this.connection;
    const section = this.config.section;
    for (const pub of this.publications) {
      if ((await c.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [pub])).length > 0) continue;
      if (!this.config.getBool("create_publication")) throw new ReplicationSetupError(`[${section}] publication ${pub} does not exist (create_publication is off): CREATE PUBLICATION ${quoteIdent(pub)} FOR TABLE …`);
      const tables = this.config.getList("publication_tables");
      const what = tables.length > 0 ? `TABLE ${tables.map(quoteName).join(", ")}` : "ALL TABLES";
      await c.query(`CREATE PUBLICATION ${quoteIdent(pub)} FOR ${what}`).catch((e: unknown) => {
        // Two sources starting at once: the other one created it.
        if ((e as { code?: string }).code !== "42710") throw e;
      });
      this.log.info(`Created publication ${pub} for ${what}`);
    }
    const slots = await c.query("SELECT plugin, database = current_database() AS here, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1", [this.slot]);
    const found = slots[0];
    if (found !== undefined) {
      if (found.plugin !== "pgoutput" || found.here !== true) throw new ReplicationSetupError(`[${section}] slot ${this.slot} exists but is not a pgoutput slot of this database (plugin ${String(found.plugin)})`);
      // Where the slot stands: what status updates (keepalive answers) say until a transaction settles.
      if (typeof found.lsn === "string") {
        const at = parseLsn(found.lsn);
        if (at > this.confirmed) this.confirmed = this.sent = at;
      }
      return;
    }
    if (this.streamed) throw new ReplicationSetupError(`replication slot ${this.slot} was dropped while streaming from it: changes after ${formatLsn(this.confirmed)} may be lost; recreate it deliberately (restart with create_slot on)`);
    if (!this.config.getBool("create_slot")) throw new ReplicationSetupError(`[${section}] replication slot ${this.slot} does not exist (create_slot is off)`);
    await c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [this.slot]).catch((e: unknown) => {
      if ((e as { code?: string }).code !== "42710") throw e;
    });
    this.log.info(`Created replication slot ${this.slot} (pgoutput)`);
    return this.ensureSlot();
  }

  /** One replication connection, until it ends, fails or the source stops. */
  private async stream(): Promise<void> {
    const timeout = this.config.getFloat("wal_sender_timeout");
    const options = timeout > 0 ? `-c wal_sender_timeout=${Math.round(timeout * 1000)}` : undefined;
    const client = new (pg().Client)({ ...this.connection.clientConfig(), replication: "database", options } as ConstructorParameters<typeof Client>[0]);
    client.on("error", (e) => this.log.warn(`Replication connection: ${describeError(e)}`));
    await client.connect();
    if (this.stopping) return void (await client.end().catch(() => {}));
    this.client = client;
    this.plugin = new (replication().PgoutputPlugin)({ protoVersion: 1, publicationNames: this.publications });
    this.inbox = [];
    this.inboxHead = 0;
    if (this.txn !== null) {
      // A transaction cut by the lost connection: the slot sends it again, whole; this copy never completes.
      this.unsettled -= this.txn.events;
      this.txn = null;
    }
    this.paused = false;
    const conn = (client as unknown as { connection: { on(event: "copyData", f: (m: { chunk: Buffer }) => void): void } }).connection;
    conn.on("copyData", ({ chunk }) => this.onCopyData(chunk));
    this.statusTimer = setInterval(() => this.sendStatus(false), this.statusInterval * 1000);
    const pubs = this.publications.map((p) => quoteIdent(p).replace(/'/g, "''")).join(",");
    try {
      this.streamed = true;
      await client.query(`START_REPLICATION SLOT ${quoteIdent(this.slot)} LOGICAL 0/0 (proto_version '1', publication_names '${pubs}')`);
    } catch (e) {
      if (!this.stopping) throw e;
    } finally {
      clearInterval(this.statusTimer);
      this.statusTimer = null;
      this.client = null;
      this.roomWaiters.wakeAll();
      await client.end().catch(() => {});
    }
  }

  private onCopyData(chunk: Buffer): void {
    const m = readStreamMessage(chunk);
    if (m.kind === "data") {
      this.inbox.push({ start: m.start, payload: m.payload });
      if (this.inbox.length - this.inboxHead > 1000) this.pause(true);
      if (!this.draining) void this.drain();
    } else if (m.kind === "keepalive") {
      // Nothing received and unsettled: the slot may move on to the server's position (else it
      // would keep WAL of changes outside the publication forever).
      if (this.txn === null && this.txns.length === 0 && this.inbox.length === this.inboxHead && m.walEnd > this.confirmed) this.confirmed = m.walEnd;
      if (m.replyRequested) this.sendStatus(false);
    }
  }

  /** Stops or resumes reading the socket (the server's TCP window fills; status updates still go out). */
  private pause(on: boolean): void {
    if (this.paused === on || this.client === null) return;
    this.paused = on;
    const stream = (this.client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream;
    if (on) stream.pause();
    else stream.resume();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    const client = this.client;
    try {
      while (this.inboxHead < this.inbox.length && this.client === client) {
        const go = this.whenReady();
        if (go !== true) {
          this.pause(true);
          if (!(await go)) return;
        }
        // `unsettled` counts the events of transactions not yet complete (cheap, an upper bound); only
        // above the limit are the receipts asked what is really in flight (a large transaction's
        // events settle one by one long before its receipt completes).
        while (this.unsettled >= this.maxUnsettled && this.inFlight() >= this.maxUnsettled && this.client === client && !this.stopping) {
          this.pause(true);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([this.roomWaiters.wait(), new Promise<void>((r) => (timer = setTimeout(r, 50)))]);
          clearTimeout(timer);
        }
        if (this.client !== client || this.stopping) return;
        const m = this.inbox[this.inboxHead]!;
        this.inbox[this.inboxHead++] = undefined as never;
        this.handle(this.plugin!.parse(m.payload) as Pgoutput.Message, m.start);
      }
      this.inbox = [];
      this.inboxHead = 0;
      this.pause(false);
    } catch (e) {
      // A message that cannot be decoded: the stream cannot go on; reconnect from the slot.
      this.log.error(`Replication stream of slot ${this.slot}: ${toError(e).message}`);
      await this.client?.end().catch(() => {});
    } finally {
      this.draining = false;
    }
    // Messages of a new connection that came while this loop still waited for the old one.
    if (this.client !== null && this.client !== client && this.inboxHead < this.inbox.length && !this.stopping) void this.drain();
  }

  /** Events handed over and not settled yet, as their receipts count them. */
  private inFlight(): number {
    let n = this.txn?.receipt.inFlight ?? 0;
    for (const txn of this.txns) n += txn.receipt.inFlight;
    return n;
  }

  private handle(msg: Pgoutput.Message, start: bigint): void {
    switch (msg.tag) {
      case "begin": {
        const txn: Txn = { xid: msg.xid, commitLsn: formatLsn(parseLsn(msg.commitLsn ?? "0/0")), commitTime: new Date(Number((msg.commitTime as bigint) / 1000n)).toISOString(), receipt: null as unknown as Receipt, events: 0, end: 0n, settled: false };
        txn.receipt = new Receipt((r) => this.txnDone(txn, r.error));
        this.txn = txn;
        return;
      }
      case "relation":
        // Typed values: pg's parsers, int8 as a number when exact (as PostgreSQLConnection reads rows).
        for (const col of msg.columns) if (col.typeOid === 20) col.parser = parseInt8;
        return;
      case "insert":
        return this.emit("insert", msg.relation, null, msg.new, start);
      case "update":
        return this.emit("update", msg.relation, msg.old ?? msg.key, msg.new, start);
      case "delete":
        return this.emit("delete", msg.relation, msg.old ?? msg.key, null, start);
      case "truncate":
        for (const rel of msg.relations) this.emit("truncate", rel, null, null, start);
        return;
      case "commit": {
        const txn = this.txn;
        if (txn === null) return;
        this.txn = null;
        txn.end = parseLsn(msg.commitEndLsn ?? "0/0");
        this.counts.transactions++;
        this.txns.push(txn);
        txn.receipt.seal();
        return;
      }
      default:
        return; // origin, type, message
    }
  }

  private emit(op: ChangeEvent["op"], rel: Pgoutput.MessageRelation, before: Record<string, unknown> | null, after: Record<string, unknown> | null, start: bigint): void {
    const txn = this.txn;
    if (txn === null) return;
    const event: ChangeEvent = {
      op,
      schema: rel.schema,
      table: rel.name,
      before: before === null ? null : { ...before },
      after: after === null ? null : { ...after },
      lsn: formatLsn(start),
      commit_lsn: txn.commitLsn,
      commit_time: txn.commitTime,
      xid: txn.xid,
    };
    txn.events++;
    this.unsettled++;
    this.counts.events++;
    const context: EventContext = { receipt: txn.receipt, "postgresql:lsn": event.lsn, "postgresql:slot": this.slot };
    this.pipeline.process(event, context);
  }

  private txnDone(txn: Txn, error: Error | null): void {
    this.unsettled -= txn.events;
    if (this.unsettled < this.maxUnsettled / 2) this.roomWaiters.wakeAll();
    if (error !== null) {
      // Not confirmed, ever, in this run: the slot keeps it and a restart delivers it again.
      this.log.error(`Transaction ${txn.xid} (commit ${txn.commitLsn}) failed in the pipeline; the slot stays before it: ${error.message}`);
      return;
    }
    txn.settled = true;
    let moved = false;
    while (this.txns.length > 0 && this.txns[0]!.settled) {
      const done = this.txns.shift()!;
      if (done.end > this.confirmed) {
        this.confirmed = done.end;
        moved = true;
      }
    }
    // Confirm soon, not per transaction (a status update per small transaction would cost a packet each).
    if (moved && this.statusTimer !== null) setTimeout(() => this.sendStatus(false), 100).unref();
  }

  private sendStatus(replyRequested: boolean): void {
    const conn = (this.client as unknown as { connection?: { sendCopyFromChunk(b: Buffer): void } } | null)?.connection;
    if (!conn || this.confirmed === 0n) return;
    try {
      conn.sendCopyFromChunk(statusUpdate(this.confirmed, replyRequested));
      this.sent = this.confirmed;
      this.counts.statusUpdates++;
    } catch (e) {
      this.log.warn(`Status update: ${toError(e).message}`);
    }
  }

  protected override async onStop(): Promise<void> {
    this.roomWaiters.wakeAll();
    this.sendStatus(false);
    await this.client?.end().catch(() => {});
  }

  /**
   * After the pipeline flushed: what settled after the replication connection closed is confirmed
   * with pg_replication_slot_advance (fewer duplicates after a restart). The walsender may hold the
   * slot a moment longer, hence the retries.
   */
  override async finalize(): Promise<void> {
    for (let i = 0; i < 20 && this.confirmed > this.sent; i++) {
      try {
        await this.connection.query("SELECT pg_replication_slot_advance($1, $2::pg_lsn)", [this.slot, formatLsn(this.confirmed)]);
        this.sent = this.confirmed;
      } catch (e) {
        if ((e as { code?: string }).code !== "55006" || i === 19) {
          this.log.warn(`Confirming ${formatLsn(this.confirmed)} on slot ${this.slot} at stop: ${describeError(e)} (the tail comes again after a restart)`);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
