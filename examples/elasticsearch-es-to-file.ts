/**
 * Elasticsearch → file: pages through every document of an index (search_after) and writes them
 * as JSON lines.
 *
 *   node --import tsx examples/elasticsearch-es-to-file.ts [index-pattern] [out.jsonl] [http://127.0.0.1:9200]
 *
 * Defaults: the indices written by elasticsearch-file-to-es.ts, to a file in the temp directory.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const index = process.argv[2] ?? "bspump-example-*";
const out = process.argv[3] ?? join(tmpdir(), "bspump-example-export.jsonl");
const url = process.argv[4] ?? process.env.ES_URL ?? "http://127.0.0.1:9200";

/** Writes each event as one JSON line (the file family's sinks do more: rotation, CSV, …). */
class JsonLinesFileSink extends bspump.Sink {
  private readonly stream: WriteStream;
  constructor(app: bspump.Application, pipeline: bspump.Pipeline, path: string) {
    super(app, pipeline);
    this.stream = createWriteStream(path);
  }
  process(_context: bspump.EventContext, event: unknown): null {
    this.stream.write(`${JSON.stringify(event)}\n`);
    return null;
  }
  override async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ESConnection", { config: { url } }));

class ElasticToFilePipeline extends bspump.Pipeline {
  constructor(app: bspump.BSPumpApplication, id: string) {
    super(app, id);
    this.build(
      // timestamp "" reads every document (the default reads the last hour of @timestamp).
      new bspump.elasticsearch.ElasticSearchSource(app, this, "ESConnection", { config: { index, timestamp: "", size: 1000 } }).on(new bspump.RunOnceTrigger(app)),
      new JsonLinesFileSink(app, this, out),
    );
  }
}

const pipeline = app.pumpService.addPipeline(new ElasticToFilePipeline(app, "ElasticToFilePipeline"));
const code = await app.run();
console.log(`wrote ${pipeline.eventOut} documents from '${index}' to ${out}`);
process.exitCode = code;
