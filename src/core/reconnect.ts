import { toError } from "./errors.js";
import type { Logger } from "./logging.js";

/** How `withReconnect` retries: backoff, when to give up, where to log. */
export interface ReconnectOptions {
  /** What is being connected to, for the log ("FTP 127.0.0.1:21"). */
  what: string;
  log: Logger;
  /** Seconds before the first retry, doubling up to `maxDelay`. */
  delay: number;
  maxDelay: number;
  /** True once the caller is stopping: no more attempts (resolves null). */
  stopping: () => boolean;
  /** Resolves when a wait between attempts should end early (a source's `untilStopped`). */
  until?: Promise<void>;
  /** Whether a failure is worth another attempt; default: every failure is (wrong credentials too: they get fixed on the server). */
  retryable?: (error: Error) => boolean;
  /** Told about each failed attempt (counters). */
  onFailure?: (error: Error, attempt: number) => void;
}

/**
 * Runs `attempt` until it succeeds, waiting with exponential backoff between failures, each logged
 * as one warning naming `what` and the wait (so an unreachable host or a wrong password costs one
 * line per wait, at most one a `maxDelay`, never a flood or a crash). Resolves null when stopping;
 * rethrows a failure `retryable` refuses.
 */
export async function withReconnect<T>(attempt: () => Promise<T>, options: ReconnectOptions): Promise<T | null> {
  let delay = Math.max(0.01, options.delay);
  for (let n = 1; ; n++) {
    if (options.stopping()) return null;
    try {
      return await attempt();
    } catch (e) {
      const error = toError(e);
      options.onFailure?.(error, n);
      if (options.retryable !== undefined && !options.retryable(error)) throw error;
      if (options.stopping()) return null;
      options.log.warn(`${options.what}: ${error.message}; retrying in ${delay.toFixed(1)} s (attempt ${n})`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, delay * 1000))), ...(options.until ? [options.until] : [])]);
      clearTimeout(timer);
      delay = Math.min(Math.max(options.delay, options.maxDelay), delay * 2);
    }
  }
}
