import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import { AsyncLookup, CacheDict, LRUCacheDict } from "../../src/lookup/index.js";

/** A clock the test moves (seconds). */
class FakeClock {
  now = 1000;
  time(): number {
    return this.now;
  }
}

test("LRUCacheDict: a read refreshes and moves an entry to the end; a write drops the oldest beyond max_size", () => {
  const clock = new FakeClock();
  const c = new LRUCacheDict<number>(clock, 3);
  c.set("a", 1);
  c.set("b", 2);
  c.set("c", 3);
  assert.equal(c.get("a"), 1); // a is now the most recent: b is the oldest
  c.set("d", 4);
  assert.deepEqual([...c.keys()], ["c", "a", "d"]);
  assert.deepEqual([...c.values()], [3, 1, 4], "bare values");
  assert.deepEqual([...c.items()], [["c", 3], ["a", 1], ["d", 4]]);
  assert.equal(c.has("b"), false);
  assert.equal(c.get("b"), undefined);
  assert.equal(c.evicted, 1);
  c.set("a", 10); // a write of a present key replaces and moves it
  assert.deepEqual([...c], ["c", "d", "a"]);
  assert.equal(c.size, 3);
  assert.equal(c.delete("c"), true);
  assert.equal(c.delete("c"), false);
  c.clear();
  assert.equal(c.size, 0);
  const none = new LRUCacheDict(clock, 0);
  none.set("x", 1);
  assert.equal(none.size, 0, "max_size 0 keeps nothing");
});

test("LRUCacheDict: max_duration drops entries unused for longer (on write, and for reads); max_age bounds a value's life however often it is read", () => {
  const clock = new FakeClock();
  const c = new LRUCacheDict<string>(clock, 100, 10);
  c.set("old", "o");
  c.set("kept", "k");
  clock.now += 6;
  assert.equal(c.get("kept"), "k"); // used at +6
  clock.now += 5; // old unused for 11 s, kept for 5 s
  assert.equal(c.size, 2, "nothing is removed before the next write");
  assert.equal(c.has("old"), false, "but an idle entry is not served");
  c.set("new", "n"); // refresh() drops the idle ones
  assert.deepEqual([...c.keys()], ["kept", "new"]);
  assert.equal(c.evicted, 1);

  const aged = new LRUCacheDict<string>(clock, 100, null, 10);
  aged.set("v", "1");
  for (let i = 0; i < 9; i++) {
    clock.now += 1;
    assert.equal(aged.get("v"), "1");
  }
  clock.now += 1;
  assert.equal(aged.get("v"), undefined, "10 s after it was written");
  assert.equal(aged.size, 0);
});

test("CacheDict: a plain, unbounded dict with items()", () => {
  const c = new CacheDict<number>();
  for (let i = 0; i < 5000; i++) c.set(`k${i}`, i);
  assert.equal(c.size, 5000);
  assert.equal(c.get("k0"), 0);
  assert.deepEqual([...c.items()].slice(0, 2), [["k0", 0], ["k1", 1]]);
  assert.equal(c.evicted, 0);
});

class Doubles extends AsyncLookup {
  fetches = 0;
  protected async fetch(key: string): Promise<unknown> {
    this.fetches++;
    return key === "none" ? undefined : Number(key) * 2;
  }
}

function makeApp(): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<test>"), handleSignals: false });
  app.logs.writer = () => {};
  return app;
}

test("AsyncLookup: the cache given as `cache` (BSPump's cache=) is used — CacheDict unbounded, LRUCacheDict with its limits; cache_ttl by default", async () => {
  const app = makeApp();
  const dict = new CacheDict();
  const unbounded = new Doubles(app, "Unbounded", { cache: dict, config: { cache_size: 1 } });
  for (let i = 0; i < 10; i++) assert.equal(await unbounded.getAsync(i), i * 2);
  assert.equal(await unbounded.getAsync("none"), undefined);
  assert.equal(dict.size, 11, "cache_size does not bound a given cache");
  assert.equal(unbounded.lookup(7), 14, "a hit answers synchronously");
  assert.equal(unbounded.lookup("none"), undefined, "an absence is cached too");
  assert.equal(unbounded.fetches, 11);

  const clock = new FakeClock();
  const lru = new Doubles(app, "LRU", { cache: new LRUCacheDict(clock, 2, 5) });
  await lru.getAsync(1);
  await lru.getAsync(2);
  await lru.getAsync(3);
  assert.equal(lru.has("1"), false);
  assert.equal(lru.counts.evicted, 1);
  clock.now += 6;
  assert.ok(lru.lookup(2) instanceof Promise, "idle for longer than max_duration: fetched again");

  const ttl = new Doubles(app, "TTL", { config: { cache_size: 10, cache_ttl: 0.05 } });
  await ttl.getAsync(1);
  assert.equal(ttl.lookup(1), 2);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(await ttl.lookup(1), 2);
  assert.equal(ttl.fetches, 2, "fetched again after cache_ttl");
});
