import type { IncomingMessage, ServerResponse } from "node:http";
import type { BSPumpApplication } from "../core/index.js";

/** What every push carries: the pipelines as `GET /bspump/v1/pipelines` describes them, and lookups. */
export type Snapshot = () => Record<string, unknown> | Promise<Record<string, unknown>>;

/**
 * `GET /bspump/v1/stream`: Server-Sent Events, one `snapshot` event per `periodMs` to each
 * connected client (the dashboard; `curl -N` works too). One timer for all clients: the snapshot is
 * built once per period whoever listens. A client that cannot keep up (its socket buffer above
 * `maxBuffered`) skips pushes instead of growing the pump's memory.
 */
export class LiveStream {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly periodMs = 1000,
    private readonly maxBuffered = 1 << 20,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  attach(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive" });
    // The browser reconnects after `retry` ms when the pump restarts.
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    void this.take().then((data) => data !== null && this.push(res, data));
    req.socket.setTimeout(0);
    const drop = () => this.detach(res);
    req.on("close", drop);
    res.on("error", drop);
    if (!this.timer) {
      this.timer = setInterval(() => this.broadcast(), this.periodMs);
      this.timer.unref();
    }
  }

  /** Ends every stream (the web service stops). */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stopTimer();
  }

  private broadcast(): void {
    if (this.clients.size === 0) return this.stopTimer();
    void this.take().then((data) => {
      if (data !== null) for (const res of this.clients) this.push(res, data);
    });
  }

  /** The snapshot as JSON; a supervisor's comes from its workers (async); null if that failed. */
  private async take(): Promise<string | null> {
    try {
      return JSON.stringify(await this.snapshot());
    } catch {
      return null;
    }
  }

  private push(res: ServerResponse, data: string): void {
    if (res.writableEnded || res.writableLength > this.maxBuffered) return;
    res.write(`event: snapshot\ndata: ${data}\n\n`);
  }

  private detach(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The snapshot of an application: pipelines, and lookups when `withLookups`. */
export function appSnapshot(app: BSPumpApplication, withLookups: () => boolean, lookups: () => unknown[]): Snapshot {
  return () => ({ time: Date.now() / 1000, pipelines: app.pumpService.describePipelines(), ...(withLookups() ? { lookups: lookups() } : {}) });
}
