// @services mariadb
/**
 * Smoke test: MariaDB started by scripts/services/up, through mysql2.
 * Creates an isolated database (the test user may create `bspump_*`), a table, bulk-inserts rows,
 * reads them back (aggregate, prepared statement, stream), and checks the shared `bspump` database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2';
import type { RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import { MYSQL, uniqueName } from '../helpers/services.js';

const ROWS = 5_000;

test('mariadb: create table, bulk insert, select', { timeout: 60_000 }, async () => {
  const db = uniqueName('bspump_smoke');
  // one connection: the promise API for statements, the core API for row streaming
  const core = mysql.createConnection({ ...MYSQL, multipleStatements: false });
  const conn = core.promise();
  try {
    await conn.query(`CREATE DATABASE \`${db}\``);
    await conn.query(`USE \`${db}\``);
    await conn.query(`CREATE TABLE events (
      id INT NOT NULL PRIMARY KEY,
      name VARCHAR(64) NOT NULL,
      amount DECIMAL(12,2) NOT NULL,
      note TEXT NULL,
      created DATETIME(3) NOT NULL
    ) ENGINE=InnoDB`);

    const base = Date.UTC(2024, 0, 1);
    const rows: unknown[][] = [];
    for (let i = 0; i < ROWS; i++) {
      rows.push([i, `event-${i}`, (i % 1000) / 4, i % 7 === 0 ? null : `nöte "${i}" ✓`, new Date(base + i * 1000)]);
    }
    // bulk insert: VALUES ? expands nested arrays, 1,000 rows per statement
    let inserted = 0;
    for (let start = 0; start < ROWS; start += 1000) {
      const [res] = await conn.query<ResultSetHeader>('INSERT INTO events (id, name, amount, note, created) VALUES ?', [rows.slice(start, start + 1000)]);
      inserted += res.affectedRows;
    }
    assert.equal(inserted, ROWS);

    const [agg] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n, SUM(id) AS s, SUM(amount) AS a, SUM(note IS NULL) AS nulls FROM events');
    assert.equal(Number(agg[0]!.n), ROWS);
    assert.equal(Number(agg[0]!.s), (ROWS * (ROWS - 1)) / 2);
    const expectedAmount = rows.reduce((sum, r) => sum + (r[2] as number), 0);
    assert.equal(Number(agg[0]!.a), expectedAmount);
    assert.equal(Number(agg[0]!.nulls), Math.ceil(ROWS / 7));

    // prepared statement, exact values (unicode, quotes, DATETIME(3))
    const [one] = await conn.execute<RowDataPacket[]>('SELECT id, name, amount, note, created FROM events WHERE id = ?', [4321]);
    assert.equal(one.length, 1);
    assert.equal(one[0]!.name, 'event-4321');
    assert.equal(Number(one[0]!.amount), 80.25);
    assert.equal(one[0]!.note, 'nöte "4321" ✓');
    assert.equal((one[0]!.created as Date).getTime(), base + 4321 * 1000);

    // row streaming over the whole table, in key order
    let streamed = 0;
    let ordered = true;
    const stream = core.query('SELECT id, name FROM events ORDER BY id').stream();
    for await (const row of stream as AsyncIterable<{ id: number; name: string }>) {
      if (row.id !== streamed || row.name !== `event-${streamed}`) ordered = false;
      streamed++;
    }
    assert.equal(streamed, ROWS);
    assert.ok(ordered, 'streamed rows in order with matching names');

    // the shared `bspump` database is usable too
    const shared = uniqueName('smoke_tbl');
    await conn.query(`CREATE TABLE bspump.\`${shared}\` (k VARCHAR(10) PRIMARY KEY, v INT)`);
    await conn.query(`INSERT INTO bspump.\`${shared}\` VALUES ('a', 1), ('b', 2)`);
    const [sum] = await conn.query<RowDataPacket[]>(`SELECT SUM(v) AS s FROM bspump.\`${shared}\``);
    assert.equal(Number(sum[0]!.s), 3);
    await conn.query(`DROP TABLE bspump.\`${shared}\``);
  } finally {
    await conn.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
    await conn.end();
  }
});
