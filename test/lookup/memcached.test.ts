// @services memcached
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import { LookupEnricher, MemcachedClient, MemcachedError, MemcachedLookup } from "../../src/lookup/index.js";
import { runPipeline, UnitTestSink } from "../../src/unittest/index.js";
import { MEMCACHED, uniqueName } from "../helpers/services.js";

const client = new MemcachedClient(MEMCACHED);
after(() => client.close());

function makeApp(): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<test>"), handleSignals: false });
  app.logs.writer = () => {};
  return app;
}

test("MemcachedClient: typed values round-trip, absent keys, delete, large values, 2,000 pipelined requests answered in order", { timeout: 30_000 }, async () => {
  const k = uniqueName("mc");
  const values: [string, unknown][] = [
    [`${k}_s`, "žluťoučký kůň"],
    [`${k}_b`, Buffer.from([0, 13, 10, 255])],
    [`${k}_i`, -42],
    [`${k}_l`, 12345678901234567890n],
    [`${k}_o`, { a: [1, 2.5, null], b: "x" }],
    [`${k}_empty`, ""],
  ];
  for (const [key, value] of values) await client.set(key, value);
  for (const [key, value] of values) assert.deepEqual(await client.get(key), value, key);
  assert.equal(await client.get(`${k}_absent`), undefined);
  assert.equal(await client.delete(`${k}_s`), true);
  assert.equal(await client.delete(`${k}_s`), false);
  assert.equal(await client.get(`${k}_s`), undefined);

  const big = "x\r\nEND\r\n".repeat(50_000); // 400 KB that looks like protocol lines, read in many chunks
  await client.set(`${k}_big`, big);
  assert.equal(await client.get(`${k}_big`), big);

  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`${k}_n${i}`, i)));
  const got = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.get(`${k}_n${i}`)));
  assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i));

  await assert.rejects(() => client.get("has space"), MemcachedError);
  await assert.rejects(() => client.get("k".repeat(251)), MemcachedError);
  assert.match(await client.version(), /^1\.\d+/);
});

test("MemcachedLookup: set(dict) with the expiry, LookupEnricher through the local cache, max_size 0 sees other writers, delete", { timeout: 30_000 }, async () => {
  const app = makeApp();
  const k = uniqueName("mcl");
  const users = new MemcachedLookup(app, "Users", { config: { server: MEMCACHED } });
  await users.set({ [`${k}_1`]: "alice", [`${k}_2`]: { name: "bob", team: "red" } });
  assert.equal(await client.get(`${k}_1`), "alice", "stored in memcached");

  const fresh = new MemcachedLookup(app, "Fresh", { config: { server: MEMCACHED } });
  const { events, pipeline } = await runPipeline(
    [1, 2, 3, 1, 2].map((i) => [{}, { user: `${k}_${i}` }] as const),
    (a, p) => [new LookupEnricher(a, p, { lookup: fresh, config: { key_field: "user", target_field: "who" } }), new UnitTestSink(a, p)],
  );
  assert.equal(pipeline.errors, 0);
  // Cache hits pass at once, misses after memcached answered: compare by user.
  const byUser = (events as { user: string; who?: unknown }[]).map((e) => [e.user.slice(-1), e.who] as const).sort((x, y) => x[0].localeCompare(y[0]));
  assert.deepEqual(byUser, [
    ["1", "alice"],
    ["1", "alice"],
    ["2", { name: "bob", team: "red" }],
    ["2", { name: "bob", team: "red" }],
    ["3", undefined],
  ]);
  assert.equal(fresh.counts.miss, 3, "one memcached request per key: the repeats shared it");
  assert.equal(fresh.lookup(`${k}_1`), "alice", "now in the local cache: answered synchronously");
  assert.equal(fresh.counts.hit, 1);

  const direct = new MemcachedLookup(app, "Direct", { config: { server: MEMCACHED, max_size: 0 } });
  assert.equal(await direct.getAsync(`${k}_1`), "alice");
  await client.set(`${k}_1`, "alice2");
  assert.equal(await direct.getAsync(`${k}_1`), "alice2", "no local copy: another client's change is seen at once");
  assert.equal(await fresh.getAsync(`${k}_1`), "alice", "a local copy is served until it expires");

  assert.equal(await users.delete(`${k}_2`), true);
  assert.equal(await direct.getAsync(`${k}_2`), undefined);

  const short = new MemcachedLookup(app, "Short", { config: { server: MEMCACHED, expiry_seconds: 1, max_size: 0 } });
  await short.set({ [`${k}_t`]: 1 });
  assert.equal(await short.getAsync(`${k}_t`), 1);
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal(await short.getAsync(`${k}_t`), undefined, "expired after expiry_seconds");
  for (const l of [users, fresh, direct, short]) l.closeConnection();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test("MemcachedLookup: flushAll on a private memcached; a server that goes away fails the lookups, which recover when it is back", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const start = () => spawn("/usr/bin/memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "8", "-u", "memcache"], { stdio: "ignore" });
  const waitUp = async (c: MemcachedClient) => {
    for (let i = 0; i < 100; i++) {
      try {
        return await c.version();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error("private memcached did not start");
  };
  let server = start();
  try {
    const app = makeApp();
    const lookup = new MemcachedLookup(app, "Private", { config: { server: `127.0.0.1:${port}`, max_size: 0 } });
    await waitUp(lookup.client);
    await lookup.set({ a: "1", b: "2" });
    await lookup.flushAll();
    assert.equal(await lookup.getAsync("a"), undefined);
    assert.equal(await lookup.getAsync("b"), undefined);

    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    await assert.rejects(async () => lookup.getAsync("a"), MemcachedError);
    const { pipeline } = await runPipeline([[{}, { k: "a" }]], (a, p) => [new LookupEnricher(a, p, { lookup, config: { key_field: "k" } }), new UnitTestSink(a, p)]);
    assert.equal(pipeline.errors, 1, "a failed lookup goes to the pipeline's error rules");

    server = start();
    await waitUp(lookup.client);
    await lookup.set({ a: "back" });
    assert.equal(await lookup.getAsync("a"), "back");
    lookup.closeConnection();
  } finally {
    server.kill("SIGTERM");
  }
});
