/**
 * File → Elasticsearch: reads a file of JSON lines and indexes each line into a daily index
 * (`bspump-example-%Y.%m.%d`, from the event's @timestamp), with the document id from `id`.
 *
 *   node --import tsx examples/elasticsearch-file-to-es.ts [events.jsonl] [http://127.0.0.1:9200]
 *
 * Without a file it writes a small sample first. The app stops when the file is read and every
 * document is confirmed by Elasticsearch.
 */
import { createReadStream, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as bspump from "../src/index.js";

const url = process.argv[3] ?? process.env.ES_URL ?? "http://127.0.0.1:9200";
let file = process.argv[2];
if (!file) {
  file = join(tmpdir(), "bspump-example-events.jsonl");
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) lines.push(JSON.stringify({ _id: `ev-${i}`, "@timestamp": new Date(Date.UTC(2024, 0, 1 + (i % 3), 12)).toISOString(), user: `user${i % 7}`, value: i }));
  writeFileSync(file, `${lines.join("\n")}\n`);
}

const app = new bspump.BSPumpApplication({ args: [] });
const svc = app.pumpService;
svc.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ESConnection", { config: { url } }));

class FileToElasticPipeline extends bspump.Pipeline {
  constructor(app: bspump.BSPumpApplication, id: string) {
    super(app, id);
    const lines = () => createInterface({ input: createReadStream(file!), crlfDelay: Infinity });
    this.build(
      new bspump.common.IteratorSource(app, this, lines).on(new bspump.RunOnceTrigger(app)),
      new bspump.common.JSONParserProcessor(app, this),
      new bspump.elasticsearch.ElasticSearchSink(app, this, "ESConnection", { config: { index: "bspump-example-%Y.%m.%d", time_field: "@timestamp" } }),
    );
  }
}

const pipeline = svc.addPipeline(new FileToElasticPipeline(app, "FileToElasticPipeline"));
const code = await app.run();
const conn = svc.locateConnection<bspump.elasticsearch.ElasticSearchConnection>("ESConnection");
console.log(`read ${pipeline.eventIn} lines from ${file}; Elasticsearch confirmed ${conn.ok}, refused ${conn.fail}`);
process.exitCode = code;
