// @services influxdb
/**
 * Smoke test: InfluxDB 1.x started by scripts/services/up, through fetch.
 * Writes line protocol (tags and string fields that need escaping, integer/float/boolean fields,
 * nanosecond timestamps) with POST /write and reads it back with /query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INFLUX_DB, INFLUX_URL, uniqueName } from '../helpers/services.js';

const POINTS = 1_000;
const T0 = 1_700_000_000_000_000_000n; // ns

type Series = { name: string; columns: string[]; values: unknown[][]; tags?: Record<string, string> };
type QueryResult = { results: { statement_id: number; series?: Series[]; error?: string }[] };

/** A string field value with a quote and a backslash: both must be escaped in line protocol. */
const text = (i: number): string => `said "hi" \\ ${i}`;
const escapeString = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

async function query(q: string): Promise<QueryResult> {
  const url = `${INFLUX_URL}/query?db=${encodeURIComponent(INFLUX_DB)}&epoch=ns&q=${encodeURIComponent(q)}`;
  const res = await fetch(url);
  assert.equal(res.status, 200, `query ${q}`);
  const body = (await res.json()) as QueryResult;
  for (const r of body.results) assert.equal(r.error, undefined, `query ${q}: ${r.error}`);
  return body;
}

test('influxdb: write line protocol, query it back', { timeout: 60_000 }, async () => {
  const measurement = uniqueName('smoke_m');
  try {
    const lines: string[] = [];
    for (let i = 0; i < POINTS; i++) {
      const host = i % 2 === 0 ? 'host\\ a' : 'host\\,b'; // tag values "host a" and "host,b"
      const msg = escapeString(text(i));
      lines.push(`${measurement},host=${host},kind=k${i % 5} value=${i}i,ratio=${i / 4},ok=${i % 3 === 0},msg="${msg}" ${T0 + BigInt(i) * 1_000_000n}`);
    }
    const res = await fetch(`${INFLUX_URL}/write?db=${encodeURIComponent(INFLUX_DB)}&precision=ns`, {
      method: 'POST',
      body: lines.join('\n'),
    });
    assert.equal(res.status, 204, await res.text());

    const count = await query(`SELECT count("value") FROM "${measurement}"`);
    assert.equal(count.results[0]!.series![0]!.values[0]![1], POINTS);

    const sum = await query(`SELECT sum("value"), sum("ratio") FROM "${measurement}"`);
    assert.equal(sum.results[0]!.series![0]!.values[0]![1], (POINTS * (POINTS - 1)) / 2);
    assert.equal(sum.results[0]!.series![0]!.values[0]![2], (POINTS * (POINTS - 1)) / 2 / 4);

    const byTag = await query(`SELECT count("value") FROM "${measurement}" GROUP BY "host"`);
    const perHost = Object.fromEntries(byTag.results[0]!.series!.map((s) => [s.tags!.host, s.values[0]![1]]));
    assert.deepEqual(perHost, { 'host a': POINTS / 2, 'host,b': POINTS / 2 });

    const one = await query(`SELECT "value", "ratio", "ok", "msg", "kind" FROM "${measurement}" WHERE "host" = 'host,b' AND time = ${T0 + 777n * 1_000_000n}`);
    const s = one.results[0]!.series![0]!;
    const row = Object.fromEntries(s.columns.map((c, k) => [c, s.values[0]![k]]));
    assert.equal(row.value, 777);
    assert.equal(row.ratio, 777 / 4);
    assert.equal(row.ok, true); // 777 % 3 === 0
    assert.equal(row.msg, text(777));
    assert.equal(row.kind, 'k2');
    // epoch=ns: JSON numbers lose precision beyond 2^53, so compare at millisecond resolution
    assert.equal(Math.round(Number(row.time) / 1e6), Number((T0 + 777n * 1_000_000n) / 1_000_000n));
  } finally {
    await query(`DROP MEASUREMENT "${measurement}"`).catch(() => {});
  }
  const gone = await query(`SHOW MEASUREMENTS WITH MEASUREMENT = "${measurement}"`);
  assert.equal(gone.results[0]!.series, undefined, 'measurement dropped');
});
