/**
 * Callers waiting for something to happen (a queue drained, in-flight work done, room in a queue):
 * `wait()` gives a promise, `wakeAll()` or `wakeOne()` resolves it. The owner decides when; whoever
 * needs "resolved at once when already idle" checks that before calling `wait()`.
 */
export class Waiters {
  private waiting: (() => void)[] = [];

  /** A promise resolved by a later `wakeAll()` (or `wakeOne()`, in turn). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  wakeAll(): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** Wakes the one that has waited longest. */
  wakeOne(): void {
    this.waiting.shift()?.();
  }
}
