/**
 * Publish/subscribe by message name (names end with "!", as in BSPump). The application has one,
 * and every pipeline and lookup has its own.
 */
// Any return value is allowed (`() => count++` is a fine subscriber); a returned Promise is awaited by publishAndWait.
export type Subscriber = (message: string, ...args: unknown[]) => unknown;

export type SubscriberErrorHandler = (message: string, error: unknown) => void;

export class PubSub {
  private readonly subscribers = new Map<string, Subscriber[]>();

  constructor(private readonly onError: SubscriberErrorHandler = defaultErrorHandler) {}

  subscribe(message: string, callback: Subscriber): void {
    const list = this.subscribers.get(message);
    if (list) {
      if (!list.includes(callback)) list.push(callback);
    } else {
      this.subscribers.set(message, [callback]);
    }
  }

  unsubscribe(message: string, callback: Subscriber): void {
    const list = this.subscribers.get(message);
    if (!list) return;
    const at = list.indexOf(callback);
    if (at >= 0) list.splice(at, 1);
  }

  hasSubscribers(message: string): boolean {
    return (this.subscribers.get(message)?.length ?? 0) > 0;
  }

  /**
   * Delivers now, in subscription order. A subscriber that throws (or whose promise rejects) is
   * reported and does not stop the others.
   */
  publish(message: string, ...args: unknown[]): void {
    void this.deliver(message, args);
  }

  /** Delivers on a later turn of the event loop (BSPump's `asynchronously=True`). */
  publishLater(message: string, ...args: unknown[]): void {
    setImmediate(() => void this.deliver(message, args));
  }

  /** Delivers now and waits for every asynchronous subscriber to finish. */
  async publishAndWait(message: string, ...args: unknown[]): Promise<void> {
    await this.deliver(message, args);
  }

  private deliver(message: string, args: unknown[]): Promise<void> {
    const list = this.subscribers.get(message);
    if (!list || list.length === 0) return Promise.resolve();
    let pending: Promise<void>[] | undefined;
    // Copy: a subscriber may unsubscribe itself while we iterate.
    for (const callback of [...list]) {
      try {
        const result = callback(message, ...args);
        if (result instanceof Promise) {
          (pending ??= []).push(result.catch((e: unknown) => this.onError(message, e)));
        }
      } catch (e) {
        this.onError(message, e);
      }
    }
    return pending ? Promise.all(pending).then(() => undefined) : Promise.resolve();
  }
}

function defaultErrorHandler(message: string, error: unknown): void {
  process.stderr.write(`PubSub subscriber of '${message}' failed: ${String((error as Error)?.stack ?? error)}\n`);
}
