/**
 * Reading the answer to a `_bulk` request: which items failed, which are worth sending again, and
 * the failure records handed back to the sinks. The ElasticSearchConnection counts, logs and
 * re-queues; this module only sorts the items.
 */
import { ElasticSearchBulk, type BulkItemFailure } from "./ElasticSearchBulk.js";

/** Statuses worth sending again: the cluster was busy or broken, not the document. */
export function retriable(status: number): boolean {
  return status === 429 || status >= 500;
}

export interface BulkResponseItem {
  _index?: string;
  _id?: string;
  status?: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | string;
}

export interface BulkResponse {
  errors?: boolean;
  took?: number;
  items?: Record<string, BulkResponseItem>[];
}

/** The items of a bulk answered with `errors: true`: each one's action and result, and which failed. */
export interface BulkItemResults {
  /** Item positions that failed, and of those, the ones to send again. */
  failedAt: Set<number>;
  retryAt: Set<number>;
  info: { action: string; item: BulkResponseItem }[];
}

/** Sorts the items of `bulk` by the response `items`; `mayRetry(status)` says whether a failed item is sent again. */
export function classifyItems(bulk: ElasticSearchBulk, items: Record<string, BulkResponseItem>[], mayRetry: (status: number) => boolean): BulkItemResults {
  const failedAt = new Set<number>();
  const retryAt = new Set<number>();
  const info: { action: string; item: BulkResponseItem }[] = [];
  for (let i = 0; i < bulk.items; i++) {
    const entry = items[i];
    const action = entry ? Object.keys(entry)[0]! : "unknown";
    const item: BulkResponseItem = entry ? entry[action]! : { status: 0, error: "no result for this item in the bulk response" };
    info.push({ action, item });
    if (item.error !== undefined || (item.status ?? 0) >= 300) {
      failedAt.add(i);
      if (mayRetry(item.status ?? 0)) retryAt.add(i);
    }
  }
  return { failedAt, retryAt, info };
}

/**
 * Settles the receipts of the items that succeeded, and returns the failed ones: those to send
 * again as a new bulk (with their receipts), the others as failure records.
 */
export function failedItems(bulk: ElasticSearchBulk, results: BulkItemResults): { failures: BulkItemFailure[]; retryBulk: ElasticSearchBulk | null } {
  const { failedAt, retryAt, info } = results;
  const failedReceipts = ElasticSearchBulk.settleSucceeded(bulk, failedAt);
  const lines = bulk.itemLines();
  const failures: BulkItemFailure[] = [];
  let retryBulk: ElasticSearchBulk | null = null;
  let k = 0;
  for (const i of [...failedAt].sort((a, b) => a - b)) {
    const receipt = failedReceipts[k++];
    if (retryAt.has(i)) {
      retryBulk ??= new ElasticSearchBulk(bulk.index, bulk.owner);
      retryBulk.append(lines[i] ?? "", receipt);
      continue;
    }
    const { action, item } = info[i]!;
    const err = item.error;
    const type = typeof err === "object" ? (err.type ?? "error") : "error";
    let reason = typeof err === "object" ? (err.reason ?? "") : String(err ?? `status ${item.status}`);
    if (typeof err === "object" && err.caused_by?.reason) reason += ` (caused by ${err.caused_by.type}: ${err.caused_by.reason})`;
    failures.push({ index: bulk.index, item: i, action, id: item._id, status: item.status ?? 0, type, reason, lines: lines[i] ?? "", receipt });
  }
  return { failures, retryBulk };
}

/** A bulk that failed as a whole: every item is a failure with the same status and reason. */
export function bulkFailures(bulk: ElasticSearchBulk, status: number, type: string, reason: string): BulkItemFailure[] {
  const lines = bulk.itemLines();
  const receipts = [...bulk.receipts()];
  return lines.map((l, i) => ({
    index: bulk.index,
    item: i,
    action: actionOf(l),
    id: undefined,
    status,
    type,
    reason,
    lines: l,
    receipt: receipts[i],
  }));
}

function actionOf(lines: string): string {
  const m = /^\{"(\w+)"/.exec(lines);
  return m ? m[1]! : "unknown";
}
