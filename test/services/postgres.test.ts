// @services postgres
/**
 * Smoke test: PostgreSQL started by scripts/services/up, through pg and the stock psql.
 * Creates an isolated database (the test user may create `bspump_*`), a table, inserts rows,
 * reads them back with psql (also over TLS), and checks logical decoding (wal_level, a pgoutput slot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { uniqueName } from '../helpers/services.js';

const PG = { host: '127.0.0.1', port: 5432, user: 'bspump', password: 'bspump' };

function psql(database: string, sql: string, sslmode = 'disable'): string {
  const r = spawnSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, `host=${PG.host} port=${PG.port} user=${PG.user} dbname=${database} sslmode=${sslmode}`], {
    env: { ...process.env, PGPASSWORD: PG.password },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('postgres: own database, insert, psql reads it (plain and TLS); logical decoding with pgoutput', { timeout: 60_000 }, async () => {
  const db = uniqueName('bspump_smoke');
  const admin = new pg.Client({ ...PG, database: 'bspump' });
  await admin.connect();
  try {
    assert.equal((await admin.query('SHOW wal_level')).rows[0].wal_level, 'logical');
    assert.ok(Number((await admin.query('SHOW max_replication_slots')).rows[0].max_replication_slots) >= 10);
    const role = (await admin.query("SELECT rolreplication, rolcreatedb FROM pg_roles WHERE rolname = 'bspump'")).rows[0];
    assert.deepEqual(role, { rolreplication: true, rolcreatedb: true });
    await admin.query(`CREATE DATABASE ${db}`);
    const c = new pg.Client({ ...PG, database: db });
    await c.connect();
    try {
      await c.query('CREATE TABLE events (id INT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(12,2), created TIMESTAMPTZ)');
      await c.query("CREATE PUBLICATION smoke FOR TABLE events");
      await c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [db]);
      await c.query("INSERT INTO events SELECT i, 'nöte ✓ ' || i, i / 4.0, '2024-01-01T00:00:00Z'::timestamptz + i * interval '1 s' FROM generate_series(0, 4999) AS i");
      assert.equal(psql(db, 'SELECT count(*), sum(id), sum(amount) FROM events'), `5000|${(5000 * 4999) / 2}|${(5000 * 4999) / 8}.00`);
      assert.equal(psql(db, 'SELECT name FROM events WHERE id = 7', 'require'), 'nöte ✓ 7');
      assert.equal(psql(db, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', 'require'), 't');
      // The slot decodes the insert: begin, relation, 5000 inserts, commit. (Decoding reads WAL up to
      // what is flushed; with synchronous_commit = off the commit reaches the disk within ~200 ms.)
      let n = 0;
      for (let i = 0; i < 50 && n < 5003; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        n = (await c.query("SELECT count(*)::int AS n FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', 'smoke')", [db])).rows[0].n;
      }
      assert.equal(n, 5003);
      await c.query('SELECT pg_drop_replication_slot($1)', [db]);
    } finally {
      await c.end();
    }
  } finally {
    // A logical slot blocks dropping its database.
    await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [db]).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => {});
    await admin.end();
  }
});
