import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import {
  AsyncLookup,
  buildMasterURL,
  decodeCacheFile,
  DictionaryLookup,
  encodeCacheFile,
  HTTPLookupProvider,
  IPGeoLookup,
  LookupEnricher,
  LookupUpdateSink,
  LookupUpdateProcessor,
} from "../../src/lookup/index.js";
import { runPipeline, UnitTestSink } from "../../src/unittest/index.js";

function makeApp(ini = ""): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(ini, "<test>"), handleSignals: false });
}
const tmp = () => mkdtempSync(join(tmpdir(), "bspump-lookup-"));

test("master URL: https kept, default is no master (not a slave of localhost)", () => {
  assert.equal(buildMasterURL("https://master.example:8443/", "/bspump/v1/lookup/", "Countries"), "https://master.example:8443/bspump/v1/lookup/Countries");
  assert.equal(buildMasterURL("master:8080", "/bspump/v1/lookup/", "a b"), "http://master:8080/bspump/v1/lookup/a%20b");
  assert.equal(buildMasterURL("http://m:1", "", "X"), "http://m:1/X");
  const app = makeApp();
  const plain = new DictionaryLookup(app, "Plain");
  assert.equal(plain.provider, null, "no provider, no master by default");
  assert.equal(plain.isMaster(), true);
  const slave = new DictionaryLookup(app, "Slave", { config: { master_url: "https://m.example:8443", master_lookup_id: "Other" } });
  assert.ok(slave.provider instanceof HTTPLookupProvider);
  assert.equal(slave.provider.url, "https://m.example:8443/bspump/v1/lookup/Other");
  assert.equal(slave.isMaster(), false);
  const file = new DictionaryLookup(app, "File", { config: { source_url: "/x/y.json" } });
  assert.equal(file.isMaster(), true, "a file-backed lookup is a master");
});

test("DictionaryLookup: JSON file, reload on change only, persistence one file per lookup", async () => {
  const dir = tmp();
  const src = join(dir, "countries.json");
  writeFileSync(src, JSON.stringify({ CZ: "Czechia", GB: "United Kingdom" }));
  const app = makeApp(`[general]\nvar_dir=${dir}/var\n`);
  const a = new DictionaryLookup(app, "Countries", { config: { source_url: src } });
  const b = new DictionaryLookup(app, "Other", { config: { source_url: `file://${src}` } });
  const changes: unknown[] = [];
  a.pubsub.subscribe("bspump.Lookup.changed!", (m) => changes.push(m));
  assert.equal(await a.update(), true);
  assert.equal(a.get("CZ"), "Czechia");
  assert.equal(a.has("GB"), true);
  assert.equal(a.size, 2);
  assert.equal(changes.length, 1);
  assert.equal(await a.update(), false, "unchanged file: no reload");
  writeFileSync(src, JSON.stringify({ CZ: "Czech Republic" }) + " ");
  assert.equal(await a.update(), true);
  assert.equal(a.get("CZ"), "Czech Republic");
  assert.equal(a.has("GB"), false, "deserialize replaces (keys deleted at the source disappear)");
  await b.update();
  await a.finalize();
  await b.finalize();
  const files = readdirSync(join(dir, "var")).sort();
  assert.deepEqual(files, ["lookup_Countries.cache", "lookup_Other.cache"], "one file per lookup, named by id");
  const { etag, payload } = decodeCacheFile(readFileSync(join(dir, "var", "lookup_Countries.cache")));
  assert.equal(etag, "");
  assert.deepEqual(JSON.parse(payload.toString()), { CZ: "Czech Republic" });
  assert.match(a.currentETag(), /^[0-9a-f]{40}$/);
});

test("DictionaryLookup: source unreachable at start → persisted copy; corrupt copy deleted", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "lookup_L.cache"), encodeCacheFile('"abc"', Buffer.from('{"k":"persisted"}')));
  const app = makeApp();
  const l = new DictionaryLookup(app, "L", { config: { master_url: "http://127.0.0.1:1", cache_dir: dir, master_timeout: 2 } });
  assert.equal(await l.update(), true);
  assert.equal(l.get("k"), "persisted");
  assert.equal((l.provider as HTTPLookupProvider).etag, '"abc"', "the ETag comes back with the copy");
  assert.equal(l.stats.persisted_loads, 1);

  writeFileSync(join(dir, "lookup_Bad.cache"), Buffer.from([1, 2]));
  const bad = new DictionaryLookup(app, "Bad", { config: { source_url: join(dir, "missing.json"), cache_dir: dir } });
  assert.equal(await bad.update(), false);
  assert.equal(existsSync(join(dir, "lookup_Bad.cache")), false);
});

test("DictionaryLookup: CSV file, key and value columns", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "users.csv"), 'id,name,team\n1,"Doe, John",red\n2,Ann,blue\n');
  const app = makeApp();
  const rows = new DictionaryLookup(app, "Rows", { config: { source_url: join(dir, "users.csv") } });
  await rows.update();
  assert.deepEqual(rows.get(1), { name: "Doe, John", team: "red" });
  const names = new DictionaryLookup(app, "Names", { config: { source_url: join(dir, "users.csv"), key_column: "team", value_column: "name" } });
  await names.update();
  assert.equal(names.get("blue"), "Ann");
  assert.equal(names.size, 2);
});

test("IPGeoLookup: ranges from CSV, real range check, IPv4 and IPv6, serialise round trip", async () => {
  const dir = tmp();
  const csv = [
    '"16777216","16777471","AU","Australia","Queensland","Brisbane","-27.46794","153.02809"',
    '"16777472","16778239","CN","China","Fujian","Fuzhou","26.06139","119.30611"',
    '"16778240","16779263","-","-","-","-","0.000000","0.000000"',
    '"2001:db8::","2001:db8::ffff","CZ","Czechia","Praha","Prague","50.08","14.42"',
  ].join("\n");
  writeFileSync(join(dir, "geo.csv"), csv);
  const app = makeApp();
  const geo = new IPGeoLookup(app, "Geo", { config: { path: join(dir, "geo.csv") } });
  await geo.update();
  assert.equal(geo.size, 4);
  assert.deepEqual(geo.lookupLocation("1.0.0.1"), { lat: -27.46794, lon: 153.02809, country: "AU", country_name: "Australia", region: "Queensland", city: "Brisbane" });
  assert.equal(geo.lookupLocation("1.0.1.0")?.city, "Fuzhou");
  assert.deepEqual(geo.lookupLocation("1.0.4.0"), { lat: null, lon: null }, "dashes and zero coordinates are left out");
  assert.equal(geo.lookupLocation("1.0.8.0"), undefined, "past the last range: unknown, not the nearest boundary");
  assert.equal(geo.lookupLocation("0.255.255.255"), undefined);
  assert.equal(geo.lookupLocation("2001:db8::12")?.city, "Prague");
  assert.equal(geo.lookupLocation("2001:db8::1:0"), undefined);
  assert.throws(() => geo.lookupLocation("nonsense"), /Not an IP/);
  const copy = new IPGeoLookup(app, "Copy");
  copy.deserialize(geo.serialize());
  assert.equal(copy.lookupLocation("2001:db8::12")?.city, "Prague");
  assert.equal(copy.lookupLocation("1.0.1.0")?.city, "Fuzhou");
});

class SlowSquares extends AsyncLookup {
  fetches: string[] = [];
  protected async fetch(key: string): Promise<unknown> {
    this.fetches.push(key);
    await new Promise((r) => setTimeout(r, 5));
    return key === "none" ? undefined : Number(key) ** 2;
  }
}

test("AsyncLookup: bounded LRU cache, shared in-flight fetches", async () => {
  const app = makeApp();
  // A cache of no entries or a negative lifetime is a config error, not silently 1 entry.
  assert.throws(() => new SlowSquares(app, "Zero", { config: { cache_size: 0 } }), /key 'cache_size': expected a number >= 1/);
  assert.throws(() => new SlowSquares(app, "Neg", { config: { cache_ttl: -1 } }), /key 'cache_ttl': expected a number >= 0/);
  const sq = new SlowSquares(app, "Sq", { config: { cache_size: 2 } });
  const [a, b] = await Promise.all([sq.lookup(3), sq.lookup("3")]);
  assert.equal(a, 9);
  assert.equal(b, 9);
  assert.deepEqual(sq.fetches, ["3"], "one fetch for concurrent misses");
  assert.equal(sq.lookup(3), 9, "a hit answers synchronously");
  await sq.lookup(4);
  sq.lookup(3); // 3 becomes most recent
  await sq.lookup(5); // evicts 4
  assert.equal(sq.size, 2);
  assert.equal(sq.has("4"), false);
  assert.equal(sq.has("3"), true);
  assert.equal(sq.counts.evicted, 1);
  assert.equal(await sq.getAsync("none"), undefined);
});

test("LookupEnricher: sync and async lookups, missing policy", async () => {
  const dict = (app: BSPumpApplication) => {
    const d = new DictionaryLookup(app, "Teams");
    d.replace({ u1: "red", u2: "blue" });
    app.pumpService.addLookup(d);
    app.pumpService.addLookup(new SlowSquares(app, "Sq"));
  };
  const { events } = await runPipeline(
    [[null, { user: "u1", n: 4 }], [null, { user: "zz", n: "none" }], [null, { n: 3 }]],
    (app, pipeline) => [
      new LookupEnricher(app, pipeline, { id: "team", lookup: "Teams", config: { key_field: "user", target_field: "meta.team", missing: "null" } }),
      new LookupEnricher(app, pipeline, { id: "sq", lookup: "Sq", config: { key_field: "n", target_field: "sq" } }),
      new UnitTestSink(app, pipeline),
    ],
    { prepare: dict },
  );
  assert.deepEqual(events, [
    { user: "u1", n: 4, meta: { team: "red" }, sq: 16 },
    { user: "zz", n: "none", meta: { team: null } },
    { n: 3, meta: { team: null }, sq: 9 },
  ]);
});

test("dynamic lookup: events set and delete keys while the pump runs; one change notice per turn", async () => {
  let lookup: DictionaryLookup | undefined;
  let notices = 0;
  const { events } = await runPipeline(
    [[null, { key: "a", value: 1 }], [null, { key: "b", value: { x: 2 } }], [null, { key: "a", value: null }], [null, { key: "c", value: 3, op: "set" }], [null, { nokey: 1 }]],
    (app, pipeline) => [new LookupUpdateProcessor(app, pipeline, { lookup: "Dyn" }), new UnitTestSink(app, pipeline)],
    {
      prepare: (app) => {
        lookup = app.pumpService.addLookup(new DictionaryLookup(app, "Dyn"));
        lookup.pubsub.subscribe("bspump.Lookup.changed!", () => notices++);
      },
    },
  );
  assert.equal(events.length, 5, "the processor passes events on");
  assert.deepEqual(Object.fromEntries(lookup!.entries()), { b: { x: 2 }, c: 3 });
  assert.ok(notices >= 1 && notices <= 2, `batched notices, got ${notices}`);

  let sink: LookupUpdateSink | undefined;
  const { app } = await runPipeline(
    [[null, { k: "x", v: 1, action: "set" }], [null, { k: "x", action: "delete" }], [null, { k: "y", v: 2 }]],
    (app, pipeline) => [(sink = new LookupUpdateSink(app, pipeline, { lookup: "Dyn2", config: { key_field: "k", value_field: "v", action_field: "action" } }))],
    { prepare: (a) => void a.pumpService.addLookup(new DictionaryLookup(a, "Dyn2")) },
  );
  assert.deepEqual({ ...sink!.counts }, { set: 2, deleted: 1, ignored: 0 }, "the sink consumed all three");
  const dyn2 = app.pumpService.locateLookup<DictionaryLookup>("Dyn2");
  assert.deepEqual(Object.fromEntries(dyn2.entries()), { y: 2 });
});

test("Kibana lookup document (.x-lff-lookup)", async () => {
  const { kibanaLookupDocument, KIBANA_LOOKUP_INDEX } = await import("../../src/lookup/index.js");
  const app = makeApp();
  const l = new DictionaryLookup(app, "Severity");
  l.replace({ "1": "low", "2": "high", "3": { label: "x" } });
  assert.equal(KIBANA_LOOKUP_INDEX, ".x-lff-lookup");
  assert.deepEqual(kibanaLookupDocument(l, { fieldType: "number" }), {
    type: "x-lff-lookup",
    fieldType: "number",
    lookupType: "static",
    map: [
      { key: "1", value: "low" },
      { key: "2", value: "high" },
      { key: "3", value: '{"label":"x"}' },
    ],
  });
});
