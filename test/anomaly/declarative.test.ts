import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config } from "../../src/index.js";
import { InternalSource } from "../../src/common/index.js";
import { AnomalyAnalyzer, AnomalyManager } from "../../src/anomaly/index.js";
import { CardinalityAnalyzer } from "../../src/analyzer/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";

type R = Record<string, unknown>;

test("YAML: anomaly.AnomalyAnalyzer → anomaly.AnomalyManager with a storage pipeline, and analyzer.CardinalityAnalyzer; documents and windows written on stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-anomaly-"));
  const anomalies = join(dir, "anomalies.jsonl");
  const windows = join(dir, "windows.jsonl");
  const yaml = `
pipelines:
  - id: Symptoms
    sources:
      - {class: common.InternalSource, id: In}
    processors:
      - class: anomaly.AnomalyAnalyzer
        config: {key_dimensions: "login:user,host;default:user_id"}
      - class: anomaly.AnomalyManager
    sink: {class: common.NullSink}
  - id: AnomalyStoragePipeline
    sources:
      - {class: common.InternalSource, id: InternalSource}
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(anomalies)}, flush_period: 0}
  - id: Visits
    sources:
      - {class: common.InternalSource, id: In}
    processors:
      - class: analyzer.CardinalityAnalyzer
        config: {dimension_attr: server, distinct_attr: user, emit: dimension, resolution: 60, target: "Results.*In"}
    sink: {class: common.NullSink}
  - id: Results
    sources:
      - {class: common.InternalSource, id: In}
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(windows)}, flush_period: 0}
`;
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[GeneralAnomaly]\nclose_rules = login:status\n", "t.conf"), handleSignals: false });
  app.logs.defaultLevel = "error";
  await new PumpBuilder(join(dir, "app.yaml"), yaml).constructPump(app);
  const symptoms = app.pumpService.locatePipeline("Symptoms")!;
  assert.ok(symptoms.processors[0]![0] instanceof AnomalyAnalyzer);
  assert.ok(symptoms.processors[1]![0] instanceof AnomalyManager, "after the generator, at depth 1");
  const visits = app.pumpService.locatePipeline("Visits")!;
  assert.ok(visits.processors[0]![0] instanceof CardinalityAnalyzer);
  const running = app.run();
  while (!app.isRunning) await new Promise((r) => setTimeout(r, 5));
  const sIn = app.pumpService.locate("Symptoms.*In") as InternalSource;
  sIn.put({}, { "@timestamp": 100, type: "login", user: "a", host: "h", status: "open" });
  sIn.put({}, { "@timestamp": 101, type: "login", user: "a", host: "h", status: "closed" });
  sIn.put({}, { "@timestamp": 102, user_id: "u1" });
  sIn.put({}, { "@timestamp": 103 }); // bad: no key dimension
  const vIn = app.pumpService.locate("Visits.*In") as InternalSource;
  for (let i = 0; i < 30; i++) vIn.putEvenIfFull({}, { "@timestamp": 960 + i, server: i % 2 === 0 ? "even" : "odd", user: `u${i % 5}` });
  while (symptoms.eventIn < 4 || visits.eventIn < 30) await new Promise((r) => setTimeout(r, 5));
  app.stop();
  assert.equal(await running, 0);
  const docs = readFileSync(anomalies, "utf8").trim().split("\n").map((l) => JSON.parse(l) as R);
  assert.deepEqual(
    docs.map((d) => [d.key, d.status, (d.symptoms as R[]).length]),
    [
      ["ahlogin", "closed", 2],
      ["u1default", "open", 1],
    ],
  );
  assert.equal(symptoms.warnings, 1, "the bad symptom is a counted warning");
  const rows = readFileSync(windows, "utf8").trim().split("\n").map((l) => JSON.parse(l) as R);
  assert.deepEqual(
    rows.map((r) => [r.dimension, r.count, r.distinct]),
    [
      ["even", 15, 5],
      ["odd", 15, 5],
    ],
  );
});
