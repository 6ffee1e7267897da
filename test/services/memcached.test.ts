// @services memcached
/**
 * Smoke test: memcached started by scripts/services/up, spoken to over a raw TCP socket (text
 * protocol, no client library): version, 500 set/get pairs pipelined, delete, a miss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { MEMCACHED, uniqueName } from '../helpers/services.js';

/** Sends `request` and collects the answer until it ends with `until`. */
function talk(request: string, until: RegExp): Promise<string> {
  const [host, port] = MEMCACHED.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: host!, port: Number(port ?? 11211) });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (until.test(answer)) {
        socket.end();
        resolve(answer);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no complete answer: ${answer.slice(-200)}`)));
    socket.write(request);
  });
}

test('memcached: version, pipelined set/get, delete, miss', { timeout: 30_000 }, async () => {
  assert.match(await talk('version\r\n', /\r\n$/), /^VERSION 1\.\d+\.\d+\r\n$/);
  const k = uniqueName('smoke');
  const n = 500;
  let sets = '';
  for (let i = 0; i < n; i++) sets += `set ${k}_${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
  const stored = await talk(sets, new RegExp(`(STORED\\r\\n){${n}}$`));
  assert.equal(stored, 'STORED\r\n'.repeat(n));
  const keys = Array.from({ length: n }, (_, i) => `${k}_${i}`).join(' ');
  const got = await talk(`get ${keys}\r\n`, /END\r\n$/);
  const values = [...got.matchAll(/VALUE (\S+) 0 \d+\r\n(\d+)\r\n/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(values, Array.from({ length: n }, (_, i) => [`${k}_${i}`, String(i)]));
  assert.equal(await talk(`delete ${k}_0\r\nget ${k}_0\r\n`, /END\r\n$/), 'DELETED\r\nEND\r\n');
});
