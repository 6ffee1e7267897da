import type { Receipt } from "../core/index.js";

/**
 * Receipts of published messages awaiting broker confirms, in publish order, stored as runs of
 * (receipt, count): consecutive messages of one source batch cost one entry.
 */
export class ConfirmQueue {
  private receipts: (Receipt | undefined)[] = [];
  private counts: number[] = [];
  private head = 0;
  /** Messages awaiting a confirm. */
  size = 0;

  push(receipt: Receipt | undefined): void {
    const last = this.receipts.length - 1;
    if (last >= this.head && this.receipts[last] === receipt) this.counts[last]!++;
    else {
      this.receipts.push(receipt);
      this.counts.push(1);
    }
    this.size++;
  }

  /** The oldest message was confirmed (error null) or refused. */
  shift(error: Error | null): void {
    if (this.size === 0) return;
    const receipt = this.receipts[this.head];
    if (--this.counts[this.head]! === 0) {
      this.receipts[this.head] = undefined;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.receipts.length) {
        this.receipts = this.receipts.slice(this.head);
        this.counts = this.counts.slice(this.head);
        this.head = 0;
      }
    }
    this.size--;
    if (receipt === undefined) return;
    if (error === null) receipt.settle();
    else receipt.fail(error);
  }

  /** Fails everything still waiting (the channel closed before confirming). */
  failAll(error: Error): void {
    for (let i = this.head; i < this.receipts.length; i++) this.receipts[i]?.fail(error, this.counts[i]!);
    this.receipts = [];
    this.counts = [];
    this.head = 0;
    this.size = 0;
  }
}
