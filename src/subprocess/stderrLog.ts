import type { Readable } from "node:stream";
import type { Logger, Pipeline } from "../core/index.js";
import { LineFramer, type LineTarget } from "../codec/lines.js";

/** Lines of standard error logged per window; the rest are counted and summed up once. */
const LINES_PER_WINDOW = 10;
const WINDOW_MS = 10_000;

/**
 * Logs a command's standard error line by line as warnings, at most LINES_PER_WINDOW lines per
 * WINDOW_MS (a chatty or crash-looping command must not flood the log); the lines left out are
 * counted as warnings and reported in one line when the next window opens. Standard error is always
 * read (never back-pressured), so a command cannot block on it.
 */
export class StderrLog implements LineTarget<number> {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;
  lines = 0;

  constructor(
    private readonly log: Logger,
    private readonly pipeline: Pipeline,
  ) {}

  /** Reads `stream` to its end. */
  async consume(stream: Readable, pid: number, maxLength: number): Promise<void> {
    try {
      await new LineFramer<number>(this, { encoding: "utf8", maxLength }).frame(stream as AsyncIterable<Buffer>, pid);
    } catch {
      // the pipe broke with the process: nothing more to log
    }
    this.flushSuppressed(Date.now(), true);
  }

  whenReady(): true {
    return true;
  }

  emitLine(line: string | Buffer, _lineNo: number, pid: number): void {
    this.lines++;
    const now = Date.now();
    this.flushSuppressed(now, false);
    if (this.logged < LINES_PER_WINDOW) {
      this.logged++;
      this.log.warn(`stderr (pid ${pid}): ${typeof line === "string" ? line : line.toString("utf8")}`);
    } else {
      this.suppressed++;
      this.pipeline.countWarning();
    }
  }

  lineTooLong(_lineNo: number, head: Buffer, length: number, pid: number): void {
    this.emitLine(`${head.subarray(0, 200).toString("utf8")}… (${length} bytes)`, 0, pid);
  }

  /** Opens a new window when the current one is over, reporting what the last one left out. */
  private flushSuppressed(now: number, atEnd: boolean): void {
    if (now - this.windowStart < WINDOW_MS && !atEnd) return;
    if (this.suppressed > 0) this.log.warn(`${this.suppressed} more stderr lines not logged (at most ${LINES_PER_WINDOW} per ${WINDOW_MS / 1000} s)`);
    this.suppressed = 0;
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
  }
}
