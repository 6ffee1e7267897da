import { ReceiptTally, type Receipt } from "../core/index.js";

/** One item of a bulk that Elasticsearch refused (mapping error, version conflict, …), or a bulk refused as a whole. */
export interface BulkItemFailure {
  index: string;
  /** Position of the item in its bulk. */
  item: number;
  /** `index`, `create`, `update` or `delete`. */
  action: string;
  id: string | undefined;
  status: number;
  /** Elasticsearch's error type, e.g. `mapper_parsing_exception`, `version_conflict_engine_exception`. */
  type: string;
  reason: string;
  /** The NDJSON lines of the item (action line, then the document line unless it is a delete). */
  lines: string;
  receipt: Receipt | undefined;
}

/** Who gets told about the items of a bulk (the sink that filled it). */
export interface BulkOwner {
  /** Items that failed for good. The owner settles or fails their receipts (dead-letter → settle). */
  onItemsFailed(failures: BulkItemFailure[]): void;
}

/**
 * The NDJSON body of one `_bulk` request for one index, with the delivery receipts of its items
 * kept as runs (receipt, count), so a bulk of events from one source batch costs one entry.
 * The body is a string grown with `+=` (V8 keeps it as a rope until it is sent).
 */
export class ElasticSearchBulk {
  body = "";
  /** The body as bytes, once the bulk is closed (queued): a flat Buffer instead of a rope of strings. */
  payload: Buffer | null = null;
  items = 0;
  /** Ticks without new data (BSPump's Aging). */
  aging = 0;
  readonly createdAt: number;
  /** Upload attempts so far. */
  attempts = 0;
  private runReceipts: (Receipt | undefined)[] = [];
  private runCounts: number[] = [];

  constructor(
    readonly index: string,
    readonly owner: BulkOwner | null,
    now = Date.now(),
  ) {
    this.createdAt = now;
  }

  /** Characters in the body: the size estimate used for `bulk_out_max_size` (bytes for ASCII). */
  get size(): number {
    return this.payload === null ? this.body.length : this.payload.length;
  }

  /**
   * No more items: turns the body into bytes. A queued bulk then holds one Buffer outside the
   * JavaScript heap, not thousands of small strings the garbage collector must trace.
   */
  close(): Buffer {
    if (this.payload === null) {
      this.payload = Buffer.from(this.body);
      this.body = "";
    }
    return this.payload;
  }

  /** The body as text (for per-item error handling). */
  text(): string {
    return this.payload === null ? this.body : this.payload.toString("utf8");
  }

  /** Appends one item (its NDJSON lines, each ending in `\n`). */
  append(lines: string, receipt: Receipt | undefined): void {
    if (this.payload !== null) throw new Error("ElasticSearchBulk.append() after close()");
    this.body += lines;
    this.items++;
    this.aging = 0;
    const last = this.runReceipts.length - 1;
    if (last >= 0 && this.runReceipts[last] === receipt) this.runCounts[last]!++;
    else {
      this.runReceipts.push(receipt);
      this.runCounts.push(1);
    }
  }

  /** Every item was written. */
  settleAll(): void {
    for (let i = 0; i < this.runReceipts.length; i++) this.runReceipts[i]?.settle(this.runCounts[i]!);
    this.runReceipts = [];
    this.runCounts = [];
  }

  /** The receipt of each item, in order (for per-item results). */
  *receipts(): Generator<Receipt | undefined> {
    for (let i = 0; i < this.runReceipts.length; i++) for (let n = 0; n < this.runCounts[i]!; n++) yield this.runReceipts[i];
  }

  /** Splits the body into one string per item (an action line, plus a document line unless a delete). */
  itemLines(): string[] {
    const out: string[] = [];
    const body = this.text();
    let pos = 0;
    while (pos < body.length) {
      let end = body.indexOf("\n", pos);
      if (end < 0) end = body.length - 1;
      const isDelete = body.startsWith('{"delete"', pos);
      if (!isDelete) {
        const docEnd = body.indexOf("\n", end + 1);
        end = docEnd < 0 ? body.length - 1 : docEnd;
      }
      out.push(body.slice(pos, end + 1));
      pos = end + 1;
    }
    return out;
  }

  /**
   * Applies per-item statuses: settles the items that succeeded (through a ReceiptTally), returns
   * those that failed. `results[i]` is null for a success.
   */
  static settleSucceeded(bulk: ElasticSearchBulk, failedAt: ReadonlySet<number>): (Receipt | undefined)[] {
    const ok = new ReceiptTally();
    const failedReceipts: (Receipt | undefined)[] = [];
    let i = 0;
    for (const receipt of bulk.receipts()) {
      if (failedAt.has(i)) failedReceipts.push(receipt);
      else ok.add(receipt);
      i++;
    }
    ok.settleAll();
    bulk.runReceipts = [];
    bulk.runCounts = [];
    return failedReceipts;
  }
}
