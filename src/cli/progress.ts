/**
 * The one progress line of the commands' finite work (`bspump run` over files on a RunOnceTrigger,
 * `bselastic`'s index tasks, `bskibana export`): done of total, the rate, events/s when given, and
 * the ETA, redrawn in place on stderr at most 5 times a second. Only on a terminal: piped or
 * redirected, it writes nothing (a log file gets no `\r` lines).
 */

/** What the line shows: `done` of `total` (bytes or items), and the events handed over so far when known. */
export interface ProgressSample {
  done: number;
  total: number;
  events?: number;
}

export interface ProgressOptions {
  /** Where it draws (default stderr); nothing unless `isTTY`. */
  stream?: NodeJS.WriteStream;
  /** `bytes`: sizes in KiB/MiB/GiB; otherwise the name of the items (`indices`, `objects`). */
  unit: string;
  /** Least milliseconds between redraws. */
  intervalMs?: number;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

/** Seconds of samples the rates are computed over: steady, yet following a change of pace. */
const RATE_WINDOW_MS = 5000;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The line for a sample and the rates (per second) measured: pure, for tests. */
export function formatProgress(label: string, unit: string, sample: ProgressSample, doneRate: number, eventRate: number | null): string {
  const { done, total } = sample;
  const amount = unit === "bytes" ? `${formatBytes(done)} / ${formatBytes(total)}` : `${done} / ${total} ${unit}`;
  const percent = total > 0 ? `${Math.min(100, Math.floor((100 * done) / total))}%` : "–";
  const parts = [label, amount, percent];
  if (eventRate !== null) parts.push(`${Math.round(eventRate).toLocaleString("en-US")} events/s`);
  else if (unit === "bytes") parts.push(`${formatBytes(Math.round(doneRate))}/s`);
  parts.push(`ETA ${done >= total ? "0:00" : doneRate > 0 ? formatDuration((total - done) / doneRate) : "–"}`);
  return parts.join("  ");
}

/** A progress line on a terminal; every method is a no-op when the stream is not one. */
export class ProgressLine {
  readonly active: boolean;
  private readonly stream: NodeJS.WriteStream;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly samples: { t: number; done: number; events: number }[] = [];
  private last: ProgressSample | null = null;
  private drawnAt = -Infinity;
  private shown = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly label: string,
    private readonly options: ProgressOptions,
  ) {
    this.stream = options.stream ?? process.stderr;
    this.active = this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? 200;
    this.now = options.now ?? (() => performance.now());
  }

  /** Redraws from `sampler()` every interval until finish(). */
  poll(sampler: () => ProgressSample): this {
    if (!this.active) return this;
    this.timer = setInterval(() => this.update(sampler()), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** A new sample; drawn when the last draw is older than the interval (or `force`). */
  update(sample: ProgressSample, force = false): void {
    if (!this.active) return;
    const t = this.now();
    // A new count (the next index of an export) starts the rates over.
    if (this.last !== null && sample.done < this.last.done) this.samples.length = 0;
    this.last = sample;
    this.samples.push({ t, done: sample.done, events: sample.events ?? 0 });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= RATE_WINDOW_MS) this.samples.shift();
    if (!force && t - this.drawnAt < this.intervalMs) return;
    this.drawnAt = t;
    this.draw();
  }

  /** Writes a line of other output above the progress line (which is drawn again after it). */
  print(write: () => void): void {
    if (!this.shown) return write();
    this.erase();
    write();
    if (this.last) this.draw();
  }

  /** Stops polling and erases the line. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.erase();
  }

  private draw(): void {
    const first = this.samples[0]!;
    const newest = this.samples[this.samples.length - 1]!;
    const seconds = (newest.t - first.t) / 1000;
    const doneRate = seconds > 0 ? (newest.done - first.done) / seconds : 0;
    const eventRate = this.last?.events === undefined ? null : seconds > 0 ? (newest.events - first.events) / seconds : 0;
    // A pseudo-terminal may report 0 columns.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const line = formatProgress(this.label, this.options.unit, this.last!, doneRate, eventRate).slice(0, width);
    this.stream.write(`\r${line}\x1b[K`);
    this.shown = true;
  }

  private erase(): void {
    this.stream.write("\r\x1b[K");
    this.shown = false;
  }
}

/** Lines out and err, and progress: what bselastic's and bskibana's tasks report to. */
export interface ProgressIO {
  out: (line: string) => void;
  err: (line: string) => void;
  progress: (done: number, total: number) => void;
}

/**
 * The commands' default output: stdout and stderr lines, and a progress line on stderr when it is
 * a terminal (the lines go above it). `finish()` erases it when the task is over.
 */
export function terminalIO(label: string, unit: string, stream: NodeJS.WriteStream = process.stderr): { io: ProgressIO; finish: () => void } {
  const line = new ProgressLine(label, { stream, unit });
  return {
    io: {
      out: (l) => line.print(() => console.log(l)),
      err: (l) => line.print(() => console.error(l)),
      progress: (done, total) => line.update({ done, total }, done >= total),
    },
    finish: () => line.finish(),
  };
}
