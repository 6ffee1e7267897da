/**
 * Delivery receipts: how a source learns that what it handed over is safe to acknowledge upstream.
 *
 * A source makes one Receipt per batch (a Kafka fetch batch, a file, an AMQP delivery), puts it in
 * the context of each event of the batch and seals it when the batch is handed over. An event is
 * settled when a processor drops it or a sink has written it (buffered sinks settle later, when the
 * write is confirmed); the pipeline counts an event as pending only when it does not settle
 * synchronously, within `pipeline.process()`. Generator children and routed copies count against
 * their parent's receipt. When a sealed receipt has nothing pending, its callback runs exactly
 * once: `receipt.error` is null when everything was delivered, or the first failure.
 */
export class Receipt {
  private pending = 0;
  private sealed = false;
  private finished = false;
  error: Error | null = null;
  settledCount = 0;
  failedCount = 0;
  /** See abandon(). */
  abandoned = false;

  constructor(private readonly onDone: (receipt: Receipt) => void = () => {}) {}

  /** Events now in flight for this receipt. */
  get inFlight(): number {
    return this.pending;
  }

  get done(): boolean {
    return this.finished;
  }

  add(n = 1): void {
    if (this.finished) throw new Error("Receipt.add() after the receipt completed");
    this.pending += n;
  }

  /**
   * Tallies an event that was settled without ever being pending: the pipeline's synchronous path,
   * where counting it in and out again would only cost time.
   */
  settledAtOnce(): void {
    this.settledCount++;
  }

  settle(n = 1): void {
    this.settledCount += n;
    this.release(n);
  }

  fail(error: Error, n = 1): void {
    this.error ??= error;
    this.failedCount += n;
    this.release(n);
  }

  /**
   * The source will hand this receipt's events over again (e.g. the Kafka transaction they were
   * read in aborted): whatever still holds them (an Aggregator, a transactional sink) must not
   * write them, and settles or fails them as usual.
   */
  abandon(): void {
    this.abandoned = true;
  }

  /** No more events will be added: complete as soon as nothing is pending. */
  seal(): void {
    this.sealed = true;
    this.check();
  }

  private release(n: number): void {
    this.pending -= n;
    if (this.pending < 0) throw new Error("Receipt settled more often than events were added");
    this.check();
  }

  private check(): void {
    if (this.sealed && this.pending === 0 && !this.finished) {
      this.finished = true;
      this.onDone(this);
    }
  }
}

/**
 * What a buffering sink keeps for the events in one buffer: runs of (receipt, count), so a buffer of
 * events from one batch costs one entry, not one per event.
 */
export class ReceiptTally {
  private receipts: Receipt[] = [];
  private counts: number[] = [];

  add(receipt: Receipt | undefined): void {
    if (receipt === undefined) return;
    const last = this.receipts.length - 1;
    if (last >= 0 && this.receipts[last] === receipt) this.counts[last]!++;
    else {
      this.receipts.push(receipt);
      this.counts.push(1);
    }
  }

  get size(): number {
    return this.receipts.length;
  }

  /** Whether the events of one of these receipts are to be handed over again (Receipt.abandon). */
  anyAbandoned(): boolean {
    for (let i = 0; i < this.receipts.length; i++) if (this.receipts[i]!.abandoned) return true;
    return false;
  }

  /** Takes the current tally, leaving this one empty (for a buffer handed to a writer). */
  take(): ReceiptTally {
    const taken = new ReceiptTally();
    taken.receipts = this.receipts;
    taken.counts = this.counts;
    this.receipts = [];
    this.counts = [];
    return taken;
  }

  settleAll(): void {
    for (let i = 0; i < this.receipts.length; i++) this.receipts[i]!.settle(this.counts[i]!);
    this.receipts = [];
    this.counts = [];
  }

  failAll(error: Error): void {
    for (let i = 0; i < this.receipts.length; i++) this.receipts[i]!.fail(error, this.counts[i]!);
    this.receipts = [];
    this.counts = [];
  }
}
