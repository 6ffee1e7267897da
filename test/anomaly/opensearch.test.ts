// @services opensearch
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ElasticSearchConnection, ElasticSearchSink } from "../../src/elasticsearch/index.js";
import { AnomalyStorage, type StoredAnomaly } from "../../src/anomaly/index.js";
import { createIndex, deleteIndex, es, ES_URL, uniqueName } from "../elasticsearch/helpers.js";
import { harness, type R } from "./helpers.js";

const created: string[] = [];
after(async () => {
  for (const index of created) await deleteIndex(index);
});

/** Anomaly documents: times as epoch milliseconds (what AnomalyStorage sends), keys as keywords. */
const MAPPING = { mappings: { properties: { "@timestamp": { type: "date", format: "epoch_millis" }, ts_end: { type: "date", format: "epoch_millis" }, status: { type: "keyword" }, type: { type: "keyword" }, key: { type: "keyword" } } } };

async function docs(index: string): Promise<Map<string, R>> {
  await es.json("POST", `${index}/_refresh`);
  const r = await es.json<{ hits: { hits: StoredAnomaly[] } }>("POST", `${index}/_search`, { size: 100, sort: [{ "@timestamp": "asc" }] });
  return new Map(r.hits.hits.map((h) => [h._id, h._source]));
}

test("anomalies stored in OpenSearch through a storage pipeline ending in an ElasticSearchSink: open → update → close visible in the index; reloaded at start", async () => {
  const index = uniqueName("bs_anomaly");
  created.push(index);
  await createIndex(index, MAPPING);
  const now = Math.floor(Date.now() / 1000);
  let conn: ElasticSearchConnection | undefined;
  const h = await harness("[GeneralAnomaly]\nclose_rules = default:status\n", {
    prepare: (app) => {
      conn = app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
    },
    storageSink: (app, p) => new ElasticSearchSink(app, p, "ES", { config: { index } }),
  });
  const flushed = async (check: (d: Map<string, R>) => boolean, what: string): Promise<Map<string, R>> => {
    h.manager.storage.flush();
    const t0 = Date.now();
    for (;;) {
      conn!.flush(true);
      const d = await docs(index);
      if (check(d)) return d;
      if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...d])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const aliceId = `alicedefault@${now * 1000}`;
  const bobId = `bobdefault@${(now + 1) * 1000}`;
  try {
    h.at(now + 2);
    await h.feed({ "@timestamp": now, user_id: "alice", status: "open", what: "first" }, { "@timestamp": now + 1, user_id: "bob", status: "open" });
    let d = await flushed((x) => x.size === 2, "two open anomalies");
    assert.deepEqual(d.get(aliceId), { "@timestamp": now * 1000, type: "default", status: "open", key: "alicedefault", user_id: "alice", symptoms: [{ "@timestamp": now, user_id: "alice", status: "open", what: "first" }] });

    await h.feed({ "@timestamp": now + 3, user_id: "alice", status: "open", what: "second" });
    d = await flushed((x) => (x.get(aliceId)?.symptoms as R[] | undefined)?.length === 2, "the update");
    assert.equal(d.get(aliceId)!.status, "open");
    assert.deepEqual((d.get(aliceId)!.symptoms as R[]).map((s) => s.what), ["first", "second"]);

    await h.feed({ "@timestamp": now + 4, user_id: "alice", status: "closed", what: "third" });
    h.at(now + 5);
    d = await flushed((x) => x.get(aliceId)?.status === "closed", "the close");
    const closed = d.get(aliceId)!;
    assert.deepEqual([closed.ts_end, closed.D, (closed.symptoms as R[]).length], [(now + 5) * 1000, 5, 3]);
    assert.equal(d.get(bobId)!.status, "open");
    assert.equal(d.size, 2, "one document per anomaly, updated in place");

    // The index can be queried like BSPump's load query: only bob is open.
    const q = new AnomalyStorage(h.app, { id: "Probe" }).loadQuery();
    await es.json("POST", `${index}/_refresh`);
    const open = await es.json<{ hits: { hits: StoredAnomaly[] } }>("POST", `${index}/_search`, q);
    assert.deepEqual(open.hits.hits.map((x) => x._id), [bobId]);
  } finally {
    assert.equal(await h.stop(), 0);
  }

  // A new application loads bob's open anomaly from the index before its first symptom.
  let conn2: ElasticSearchConnection | undefined;
  const h2 = await harness("", {
    waitReady: false,
    prepare: (app) => {
      conn2 = app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
      new AnomalyStorage(app, {
        config: { index },
        load: async (body, pattern) => (await conn2!.client.json<{ hits: { hits: StoredAnomaly[] } }>("POST", `${pattern}/_search?ignore_unavailable=true`, body)).hits.hits,
      });
    },
    storageSink: (app, p) => new ElasticSearchSink(app, p, "ES", { config: { index } }),
  });
  try {
    h2.at(now + 10);
    await h2.feed({ "@timestamp": now + 9, user_id: "bob", status: "closed" });
    const storage = h2.manager.storage;
    assert.equal(storage.counter.values["anomalies.loaded"], 1);
    assert.equal(storage.open.get("bobdefault")!.doc.symptoms.length, 2, "the symptom joined the loaded anomaly");
    storage.flush();
    const t0 = Date.now();
    let bob: R | undefined;
    for (;;) {
      conn2!.flush(true);
      bob = (await docs(index)).get(bobId);
      if (bob?.status === "closed" || Date.now() - t0 > 20_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([bob!.status, bob!.D, (bob!.symptoms as R[]).length], ["closed", 9, 2]);
  } finally {
    assert.equal(await h2.stop(), 0);
  }
});
