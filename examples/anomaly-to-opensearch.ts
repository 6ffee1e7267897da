/**
 * Symptoms → anomalies → OpenSearch. Failed logins (symptoms) arrive on an InternalSource; the
 * AnomalyAnalyzer keys them by user and host, the AnomalyManager groups them into one open anomaly
 * per key, and every 10 s the AnomalyStorage writes every anomaly (open, updated, closed) through
 * the AnomalyStoragePipeline into the index `bs_anomaly`. An anomaly closes 30 s after its last
 * symptom (`[GeneralAnomaly] close_rules = login:30`). The open anomalies are loaded back at start.
 *
 *   node --import tsx examples/anomaly-to-opensearch.ts [http://127.0.0.1:9200]
 */
import * as bspump from "../src/index.js";

const url = process.argv[2] ?? "http://127.0.0.1:9200";
const app = new bspump.BSPumpApplication({
  args: [],
  config: bspump.Config.fromString(`[GeneralAnomaly]\nclose_rules = login:30;default:status\n[AnomalyStorage]\nflush_period = 10\nindex = bs_anomaly\n`, "<example>"),
});
const es = app.pumpService.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ES", { config: { url } }));
new bspump.anomaly.AnomalyStorage(app, {
  load: async (body, index) => (await es.client.json<{ hits: { hits: bspump.anomaly.StoredAnomaly[] } }>("POST", `${index}/_search?ignore_unavailable=true`, body)).hits.hits,
});

const symptoms = new bspump.Pipeline(app, "Symptoms");
const input = new bspump.common.InternalSource(app, symptoms, { id: "In" });
symptoms.build(
  input,
  new bspump.anomaly.AnomalyAnalyzer(app, symptoms, { config: { key_dimensions: "login:user,host" } }),
  new bspump.anomaly.AnomalyManager(app, symptoms),
  new bspump.common.NullSink(app, symptoms),
);
const storage = new bspump.Pipeline(app, "AnomalyStoragePipeline");
storage.build(new bspump.common.InternalSource(app, storage, { id: "InternalSource" }), new bspump.elasticsearch.ElasticSearchSink(app, storage, "ES", { config: { index: "bs_anomaly" } }));
app.pumpService.addPipelines(symptoms, storage);

// A failed login every 2 s from one of three users.
app.pubsub.subscribe("Application.run!", () => {
  let n = 0;
  const timer = setInterval(() => {
    const user = ["alice", "bob", "carol"][n++ % 3]!;
    input.putEvenIfFull({}, { "@timestamp": app.time(), type: "login", user, host: "web1", reason: "bad password" });
  }, 2000);
  app.pubsub.subscribe("Application.stop!", () => clearInterval(timer));
});
process.exitCode = await app.run();
