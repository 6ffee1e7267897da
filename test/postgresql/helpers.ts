import { spawnSync } from "node:child_process";
import pg from "pg";
import type { BSPumpApplication } from "../../src/core/index.js";
import { PostgreSQLConnection } from "../../src/postgresql/index.js";
import { trackedApp } from "../helpers/components.js";

export const DB = { host: "127.0.0.1", port: 5432, user: "bspump", password: "bspump", database: "bspump" };

/** A tracked app (see stopApps() in test/helpers/components.ts) with a PostgreSQLConnection to the test database. */
export function makeApp(connectionConfig: Record<string, string | number | boolean> = {}, id = "PostgreSQLConnection"): { app: BSPumpApplication; connection: PostgreSQLConnection } {
  const app = trackedApp();
  const connection = new PostgreSQLConnection(app, id, {
    config: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, db: DB.database, ...connectionConfig },
  });
  app.pumpService.addConnection(connection);
  return { app, connection };
}

/** A test-side client (pg) to set up tables and changes. */
export async function client(database = DB.database): Promise<pg.Client> {
  const c = new pg.Client({ ...DB, database });
  await c.connect();
  return c;
}

/** Runs SQL with `psql` (the stock client, not the code under test) and returns its unaligned output lines. */
export function psql(sql: string, database = DB.database): string[] {
  const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", DB.host, "-p", String(DB.port), "-U", DB.user, "-d", database, "-c", sql], {
    env: { ...process.env, PGPASSWORD: DB.password },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** The server's TLS certificate (PEM), read from the handshake: SSLRequest, then TLS without verification. */
export async function serverCertificate(): Promise<string> {
  const { connect: netConnect } = await import("node:net");
  const { connect: tlsConnect } = await import("node:tls");
  const socket = netConnect(DB.port, DB.host);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4); // SSLRequest
  socket.write(request);
  const answer = await new Promise<Buffer>((resolve) => socket.once("data", resolve));
  if (answer.toString("latin1", 0, 1) !== "S") throw new Error("the server does not speak TLS");
  const tls = tlsConnect({ socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
  const der = tls.getPeerCertificate().raw;
  tls.destroy();
  return `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`.replace("\n\n", "\n");
}

/**
 * Drops a replication slot once its walsender let go of it (a stopped pump's walsender exits a moment
 * later): a slot left behind would keep WAL on the shared server forever.
 */
export async function dropSlot(db: pg.Client, slot: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await db.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    if (r.rowCount === 0) return;
    if (r.rows[0].active === false) {
      const dropped = await db.query("SELECT pg_drop_replication_slot($1)", [slot]).then(() => true, () => false);
      if (dropped) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`replication slot ${slot} is still active after 10 s`);
}
