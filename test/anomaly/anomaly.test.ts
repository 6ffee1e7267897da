import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, ConfigError, Pipeline } from "../../src/core/index.js";
import { Anomaly, AnomalyAnalyzer, AnomalyManager, AnomalyStorage, closeRules, GeneralAnomaly, type AnomalyDocument } from "../../src/anomaly/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";
import { harness, type R } from "./helpers.js";

const T0 = 1_700_000_000;

test("AnomalyAnalyzer: keys from the dimensions of the symptom's type (else default), the key ends with the type", async () => {
  const input = [
    [null, { "@timestamp": T0, type: "login", user: "alice", host: "h1", status: "open" }],
    [null, { "@timestamp": T0 + 1, type: "login", host: "h2" }], // one of two dimensions present
    [null, { "@timestamp": T0 + 2, type: "disk", user_id: 42, host: "h3" }], // default dimensions
    [null, { "@timestamp": T0 + 3, user_id: "bob" }], // no type: default
  ] as const;
  const r = await runProcessor(AnomalyAnalyzer, input, { config: { key_dimensions: "login:user,host;default:user_id" } });
  assert.equal(r.pipeline.isError(), false);
  assert.deepEqual(r.events, [
    { "@timestamp": T0, key: "aliceh1login", key_dimensions: { user: "alice", host: "h1" }, type: "login", symptom: input[0][1] },
    { "@timestamp": T0 + 1, key: "h2login", key_dimensions: { host: "h2" }, type: "login", symptom: input[1][1] },
    { "@timestamp": T0 + 2, key: "42disk", key_dimensions: { user_id: 42 }, type: "disk", symptom: input[2][1] },
    { "@timestamp": T0 + 3, key: "bobdefault", key_dimensions: { user_id: "bob" }, type: "default", symptom: input[3][1] },
  ]);
});

test("AnomalyAnalyzer: no timestamp, a string timestamp, no key dimension, not an object — counted warnings, nothing emitted; dead-lettered with a target", async () => {
  const bad = [{ user_id: "a" }, { "@timestamp": "2024-01-01", user_id: "a" }, { "@timestamp": T0, other: 1 }, "text", { "@timestamp": T0, user_id: "ok" }];
  const r = await runProcessor(AnomalyAnalyzer, bad.map((e) => [null, e] as const));
  assert.equal(r.events.length, 1, "only the good symptom");
  assert.equal(r.pipeline.isError(), false);
  assert.equal(r.pipeline.warnings, 4);
  const a = r.processor as AnomalyAnalyzer;
  assert.equal(a.counter.values["timestamp.miss"], 2);
  assert.equal(a.counter.values["key.dimensions.miss"], 2);
  assert.equal(a.counter.values.symptoms, 1);

  const dead: unknown[] = [];
  const r2 = await runPipeline(
    bad.map((e) => [null, e] as const),
    (app, pipeline) => {
      const deadSink = new UnitTestSink(app, pipeline, { id: "Dead" });
      deadSink.process = (_c, e) => {
        dead.push(e);
        return null;
      };
      pipeline.deadLetter = deadSink;
      return [new AnomalyAnalyzer(app, pipeline), new UnitTestSink(app, pipeline)];
    },
  );
  assert.equal(r2.events.length, 1);
  assert.equal(dead.length, 4);
  assert.equal(r2.pipeline.isError(), false);
  assert.deepEqual((dead[0] as R).event, { user_id: "a" });
});

test("AnomalyManager: malformed anomaly events are counted per missing field, dropped, the pipeline goes on", async () => {
  const ok = { "@timestamp": T0, key: "k", key_dimensions: { user_id: "u" }, type: "default", symptom: { "@timestamp": T0 } };
  const input = [
    { ...ok, "@timestamp": undefined },
    { ...ok, key: "" },
    { ...ok, key_dimensions: "u" },
    { ...ok, type: 5 },
    { ...ok, symptom: null },
    42,
    ok,
  ].map((e) => [null, e] as const);
  const r = await runProcessor(AnomalyManager, input);
  const m = r.processor as AnomalyManager;
  assert.equal(r.pipeline.isError(), false);
  assert.deepEqual(r.events, [ok], "the good event passes unchanged");
  assert.deepEqual(
    Object.fromEntries(["timestamp.miss", "key.miss", "key.dimensions.miss", "type.miss", "symptom.miss", "anomalies.opened", "symptoms"].map((f) => [f, m.counter.values[f]])),
    { "timestamp.miss": 1, "key.miss": 1, "key.dimensions.miss": 1, "type.miss": 1, "symptom.miss": 2, "anomalies.opened": 1, symptoms: 1 },
  );
  assert.equal(r.pipeline.warnings, 6);
  assert.equal(m.storage.open.size, 1);
});

test("AnomalyManager: max_symptoms keeps the latest symptoms of an anomaly that never closes and counts the dropped ones", async () => {
  const input = [1, 2, 3, 4, 5].map((i) => [null, { "@timestamp": T0 + i, key: "k", key_dimensions: { user_id: "u", "@timestamp": 0 }, type: "default", symptom: { "@timestamp": T0 + i, n: i } }] as const);
  const r = await runProcessor(AnomalyManager, input, { config: { max_symptoms: 3 } });
  const m = r.processor as AnomalyManager;
  assert.equal(r.events.length, 5, "every event passes on");
  const doc = m.storage.open.get("k")!.doc;
  assert.deepEqual(doc.symptoms.map((s) => s.n), [3, 4, 5]);
  assert.equal(doc.symptoms_dropped, 2);
  assert.equal(doc["@timestamp"], T0 + 1, "a key dimension named like an anomaly field does not overwrite it");
  assert.equal(doc.user_id, "u");
  const all = await runProcessor(AnomalyManager, input, { config: { max_symptoms: 0 } });
  assert.equal((all.processor as AnomalyManager).storage.open.get("k")!.doc.symptoms.length, 5, "0: all, as BSPump");
});

test("open → update → close: documents routed to the storage pipeline, one id per anomaly, times in ms; status rule and seconds rule", async () => {
  const h = await harness("[GeneralAnomaly]\nclose_rules = default:status;slow:60\n[pipeline:Symptoms:Analyzer]\nkey_dimensions = default:user_id\n");
  try {
    h.at(T0 + 10);
    await h.feed({ "@timestamp": T0, user_id: "alice", status: "open" }, { "@timestamp": T0 + 1, user_id: "bob", type: "slow" });
    const storage = h.manager.storage;
    assert.deepEqual([...storage.open.keys()], ["alicedefault", "bobslow"]);
    storage.flush();
    await h.until(() => h.stored!.output.length === 2, "2 open documents");
    const first = h.stored!.output.map(([c, e]) => [(c.ancestor as R).es_id, e]) as [string, R][];
    assert.equal(first[0]![0], `alicedefault@${T0 * 1000}`);
    assert.deepEqual(first[0]![1], {
      "@timestamp": T0 * 1000,
      type: "default",
      status: "open",
      key: "alicedefault",
      user_id: "alice",
      symptoms: [{ "@timestamp": T0, user_id: "alice", status: "open" }],
      _id: `alicedefault@${T0 * 1000}`,
    });

    // Update: a second symptom joins the open anomaly.
    await h.feed({ "@timestamp": T0 + 20, user_id: "alice", status: "open", n: 2 });
    h.at(T0 + 30);
    storage.flush();
    await h.until(() => h.stored!.output.length === 4, "2 more documents");
    const alice = h.stored!.output[2]![1] as R;
    assert.equal(alice.status, "open");
    assert.equal((alice.symptoms as R[]).length, 2);

    // Close: alice by a symptom with status closed; bob 60 s after his last symptom.
    await h.feed({ "@timestamp": T0 + 40, user_id: "alice", status: "closed" });
    h.at(T0 + 50);
    storage.flush();
    await h.until(() => h.stored!.output.length === 6, "closed alice, open bob");
    const [closed, stillOpen] = [h.stored!.output[4]![1] as R, h.stored!.output[5]![1] as R];
    assert.deepEqual([closed.key, closed.status, closed.ts_end, closed.D], ["alicedefault", "closed", (T0 + 50) * 1000, 50]);
    assert.deepEqual([stillOpen.key, stillOpen.status], ["bobslow", "open"]);
    assert.equal(storage.closed.size, 1);
    h.at(T0 + 62);
    storage.flush(); // alice is sent once more, then forgotten (12 s after closing > longevity 5 s); bob closes
    await h.until(() => h.stored!.output.length === 8, "the last flush");
    const last = h.stored!.output.slice(6).map(([, e]) => [(e as R).key, (e as R).status]);
    assert.deepEqual(last, [
      ["alicedefault", "closed"],
      ["bobslow", "closed"],
    ]);
    assert.deepEqual([...storage.closed.keys()], [`bobslow@${(T0 + 1) * 1000}`], "alice is forgotten after the longevity");
    assert.equal(storage.open.size, 0);

    // A new anomaly of a closed key is a new document.
    await h.feed({ "@timestamp": T0 + 70, user_id: "alice", status: "open" });
    assert.equal(storage.open.get("alicedefault")!.storageId, `alicedefault@${(T0 + 70) * 1000}`);
    assert.deepEqual(storage.counter.values["anomalies.closed.flushed"], 3, "alice twice (closed, then once more within the flush that forgets her), bob once");
  } finally {
    await h.stop();
  }
});

class DiskAnomaly extends Anomaly {
  static override TYPE = "disk";
  onTick(now: number): void {
    if (this.doc.symptoms.length >= 2) this.close(now);
  }
}

test("anomaly classes by TYPE; the manager's last flush on stop; a missing storage pipeline keeps the anomalies and does not throttle", async () => {
  const h = await harness("", { managerOptions: { anomalyClasses: [DiskAnomaly] } });
  h.at(T0 + 5);
  await h.feed({ "@timestamp": T0, type: "disk", user_id: "x" }, { "@timestamp": T0 + 1, type: "disk", user_id: "x" }, { "@timestamp": T0 + 2, user_id: "y" });
  const storage = h.manager.storage;
  assert.ok(storage.open.get("xdisk") instanceof DiskAnomaly);
  assert.ok(storage.open.get("ydefault") instanceof GeneralAnomaly);
  const stored = h.stored!;
  assert.equal(await h.stop(), 0);
  const docs = stored.output.map(([, e]) => [(e as R).key, (e as R).status]);
  assert.deepEqual(docs, [
    ["xdisk", "closed"],
    ["ydefault", "open"],
  ]);

  const h2 = await harness("", { storagePipeline: false });
  await h2.feed({ "@timestamp": T0, user_id: "z" });
  h2.manager.storage.flush();
  assert.equal(h2.manager.storage.open.size, 1, "kept for the next flush");
  assert.equal(h2.symptoms.isReady(), true, "not left throttled (BSPump [BUG])");
  await h2.feed({ "@timestamp": T0 + 1, user_id: "z" });
  assert.equal(h2.manager.storage.open.get("zdefault")!.doc.symptoms.length, 2);
  await h2.stop();
});

test("the storage loads the open anomalies before the first symptom (the manager's pipeline waits), skipping backups", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let query: R | null = null;
  const h = await harness("", {
    waitReady: false,
    prepare: (app) => {
      new AnomalyStorage(app, {
        load: async (body, index) => {
          query = { body, index };
          await gate;
          return [
            { _id: `udefault@${T0 * 1000}`, _source: { "@timestamp": T0 * 1000, type: "default", status: "open", key: "udefault", user_id: "u", symptoms: [{ "@timestamp": T0, user_id: "u" }] } },
            { _id: "b_backup", _source: { "@timestamp": T0 * 1000, type: "default", status: "open", key: "b", symptoms: [] } },
          ];
        },
      });
    },
  });
  try {
    assert.equal(h.symptoms.isReady(), false, "throttled while loading");
    assert.equal((query as R | null)?.index, "bs_anomaly*");
    h.input.putEvenIfFull({}, { "@timestamp": T0 + 5, user_id: "u" });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.symptoms.eventIn, 0, "no symptom before the load");
    release();
    await h.until(() => h.symptoms.eventIn === 1, "the symptom after the load");
    const a = h.manager.storage.open.get("udefault")!;
    assert.equal(a.doc["@timestamp"], T0, "ms back to seconds");
    assert.equal(a.doc.symptoms.length, 2, "the new symptom joined the loaded anomaly");
    assert.equal(a.storageId, `udefault@${T0 * 1000}`, "same document id");
    assert.equal(h.manager.storage.open.size, 1, "the backup was skipped");
  } finally {
    await h.stop();
  }
});

test("config: close_rules and key_dimensions are checked (ConfigError naming section and key); one storage per id", () => {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[GeneralAnomaly]\nclose_rules = default:soon\n", "<t>"), handleSignals: false });
  assert.throws(() => closeRules(app), (e: unknown) => e instanceof ConfigError && /\[GeneralAnomaly\] close_rules/.test(e.message));
  const app2 = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const p = new Pipeline(app2, "P");
  assert.throws(() => new AnomalyAnalyzer(app2, p, { config: { key_dimensions: "nodims" } }), (e: unknown) => e instanceof ConfigError && /key_dimensions/.test(e.message));
  new AnomalyStorage(app2);
  assert.throws(() => new AnomalyStorage(app2), ConfigError);
  assert.throws(() => new AnomalyManager(app2, p, { anomalyStorage: "x" as unknown as AnomalyStorage }), ConfigError);
  const m = new AnomalyManager(app2, p);
  assert.equal(m.storage, AnomalyStorage.locate(app2));
  const doc: AnomalyDocument = { "@timestamp": 10, type: "default", status: "open", key: "k", symptoms: [] };
  const a = new GeneralAnomaly(app2, doc);
  a.close(25);
  assert.deepEqual([doc.ts_end, doc.D, a.isClosed()], [25, 15, true]);
});
