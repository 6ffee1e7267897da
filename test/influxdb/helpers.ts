import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { BSPumpApplication } from "../../src/core/index.js";
import { InfluxDBConnection } from "../../src/influxdb/index.js";
import { trackedApp } from "../helpers/components.js";

export const INFLUX = "http://127.0.0.1:8086";
export const DB = "bspump";

/** A tracked app (see stopApps() in test/helpers/components.ts) with an InfluxDBConnection to the test database. */
export function makeApp(config: Record<string, string | number | boolean> = {}): { app: BSPumpApplication; connection: InfluxDBConnection } {
  const app = trackedApp();
  const connection = new InfluxDBConnection(app, "InfluxDBConnection", { config: { url: INFLUX, db: DB, ...config } });
  app.pumpService.addConnection(connection);
  return { app, connection };
}

/** Runs an InfluxQL query; returns the first series' values (or []). */
export async function query(q: string, epoch = "ns"): Promise<{ columns: string[]; values: unknown[][] }> {
  const r = await fetch(`${INFLUX}/query?db=${DB}&epoch=${epoch}&q=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] };
  const res = body.results[0]!;
  if (res.error) throw new Error(res.error);
  return res.series?.[0] ?? { columns: [], values: [] };
}

/**
 * A fault-injecting HTTP proxy in front of the real InfluxDB: `failNext` requests get the given
 * status; while `hold` is set requests wait; the rest are forwarded unchanged.
 */
export class FaultProxy {
  failNext = 0;
  failStatus = 503;
  hold = false;
  requests = 0;
  private held: (() => void)[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((req, res) => void proxy.handle(req, res));
    proxy = new FaultProxy(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  release(): void {
    this.hold = false;
    const held = this.held;
    this.held = [];
    for (const h of held) h();
  }

  get waiting(): number {
    return this.held.length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.failNext > 0) {
      this.failNext--;
      res.writeHead(this.failStatus, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: `injected ${this.failStatus}` }));
      return;
    }
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    const upstream = await fetch(`${INFLUX}${req.url}`, { method: req.method, body: chunks.length ? Buffer.concat(chunks) : undefined, headers: { "Content-Type": "text/plain" } });
    res.writeHead(upstream.status, { "Content-Type": upstream.headers.get("content-type") ?? "text/plain" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  async close(): Promise<void> {
    this.release();
    await new Promise((r) => this.server.close(r));
  }
}
