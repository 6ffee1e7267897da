import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Receipt } from "../core/index.js";

/** A place in the binary log between two transactions: where reading resumes. */
export interface BinlogPosition {
  /** Binlog file name, e.g. `mariadb-bin.000003`. */
  log_file: string;
  /** Byte offset in it: the end of the last settled transaction. */
  log_pos: number;
  /** MariaDB GTID position (`domain-server-sequence`, one per domain, comma-separated); "" when unknown. */
  gtid: string;
}

function isPosition(v: unknown): v is BinlogPosition {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.log_file === "string" && p.log_file !== "" && Number.isSafeInteger(p.log_pos) && typeof p.gtid === "string";
}

/**
 * The stored position of a binlog source: a small JSON file, replaced atomically (temporary file +
 * rename, as lookups persist), so a process killed while saving leaves the previous position whole.
 */
export class BinlogPositionFile {
  constructor(readonly path: string) {}

  /** The stored position; null when there is none. A file that is not a position is an error, never ignored (that would lose or replay the whole log). */
  async load(): Promise<BinlogPosition | null> {
    let raw: string;
    try {
      raw = await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = null;
    }
    if (!isPosition(parsed)) throw new Error(`The stored binlog position ${this.path} is not valid JSON of {log_file, log_pos, gtid}; fix or delete it`);
    return { log_file: parsed.log_file, log_pos: parsed.log_pos, gtid: parsed.gtid };
  }

  async save(position: BinlogPosition): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(tmp, JSON.stringify({ ...position, saved: new Date().toISOString() }) + "\n");
    await rename(tmp, this.path);
  }
}

/** One transaction (a GTID event group) whose changes are in the pipeline; one receipt for all of them. */
export class BinlogTransaction {
  readonly receipt: Receipt;
  /** Set when its commit (Xid, COMMIT, or a standalone DDL statement) was read. */
  end: { log_file: string; log_pos: number } | null = null;
  done = false;

  constructor(
    readonly gtid: string,
    /** True for a standalone group (DDL): it ends with its one statement. */
    readonly standalone: boolean,
    onDone: (tx: BinlogTransaction, receipt: Receipt) => void,
  ) {
    this.receipt = new Receipt((r) => onDone(this, r));
  }
}

/**
 * The settled position, advanced in commit order: a transaction's end becomes the position only
 * when it and every transaction before it were committed in the log and settled in the pipeline.
 * Also keeps the GTID position per replication domain (MariaDB), for `auto_position`.
 */
export class SettledPosition {
  private readonly queue: BinlogTransaction[] = [];
  private readonly domains = new Map<string, string>();
  position: BinlogPosition;
  /** Bumped on every change of `position`. */
  version = 0;

  constructor(start: BinlogPosition) {
    this.position = start;
    for (const g of start.gtid.split(",")) this.noteGtid(g.trim());
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /** A new transaction; `onDone` runs when its receipt completes. */
  begin(gtid: string, standalone: boolean, onDone: (tx: BinlogTransaction, receipt: Receipt) => void): BinlogTransaction {
    const tx = new BinlogTransaction(gtid, standalone, onDone);
    this.queue.push(tx);
    return tx;
  }

  /** Marks a transaction settled and advances the position over the settled prefix; true when it moved. */
  settled(tx: BinlogTransaction): boolean {
    tx.done = true;
    let moved = false;
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const head = this.queue.shift()!;
      if (head.end === null) continue;
      this.noteGtid(head.gtid);
      this.position = { log_file: head.end.log_file, log_pos: head.end.log_pos, gtid: [...this.domains.values()].join(",") };
      moved = true;
    }
    if (moved) this.version++;
    return moved;
  }

  /** Forgets transactions in flight (the stream is read again from `position`). */
  reset(): void {
    this.queue.length = 0;
  }

  /** Moves to a position read from the server (start at the end of the log, a rotation between transactions). */
  moveTo(position: BinlogPosition): void {
    this.position = position;
    this.domains.clear();
    for (const g of position.gtid.split(",")) this.noteGtid(g.trim());
    this.version++;
  }

  private noteGtid(gtid: string): void {
    const m = /^(\d+)-\d+-\d+$/.exec(gtid);
    if (m) this.domains.set(m[1]!, gtid);
  }
}
