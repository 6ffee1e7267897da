// @services opensearch
// The seed's own example, for real: bspump.socket.TCPStreamSource → bspump.common.JSONParserProcessor →
// bspump.elasticsearch.ElasticSearchSink("ESConnection"), configured from INI, with clients on TCP and
// OpenSearch on 127.0.0.1:9200.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import * as bspump from "../../src/index.js";

const ES_URL = process.env.ES_URL ?? "http://127.0.0.1:9200";

class MyPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.socket.TCPStreamSource(app, this),
      new bspump.common.JSONParserProcessor(app, this),
      new bspump.elasticsearch.ElasticSearchSink(app, this, "ESConnection"),
    );
  }
}

async function esCount(index: string): Promise<number> {
  await fetch(`${ES_URL}/${index}/_refresh`, { method: "POST" });
  const r = await fetch(`${ES_URL}/${index}/_count`);
  if (r.status === 404) return 0;
  return ((await r.json()) as { count: number }).count;
}

test("the seed example: TCP lines → JSON → Elasticsearch (OpenSearch), every line indexed", async () => {
  const index = `seed-tcp-${process.pid}-${Date.now().toString(36)}`;
  const ini = `[connection:ESConnection]\nurl = ${ES_URL}\n[pipeline:MyPipeline:TCPStreamSource]\naddress = 127.0.0.1 0\n[pipeline:MyPipeline:ElasticSearchSink]\nindex = ${index}\n`;
  const app = new bspump.BSPumpApplication({ args: [], config: bspump.Config.fromString(ini, "seed.conf"), handleSignals: false });
  app.logs.defaultLevel = "error";
  const svc = app.getService<bspump.PumpService>("bspump.PumpService");
  svc.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ESConnection"));
  const pipeline = svc.addPipeline(new MyPipeline(app, "MyPipeline"));
  const running = app.run();
  try {
    const source = pipeline.sources[0] as bspump.socket.TCPStreamSource;
    while (source.port === 0) await new Promise((r) => setTimeout(r, 10));
    const clients = 3;
    const perClient = 400;
    await Promise.all(
      Array.from({ length: clients }, (_, c) =>
        new Promise<void>((resolve, reject) => {
          const s = connect({ port: source.port, host: "127.0.0.1" }, () => {
            let text = "";
            for (let i = 0; i < perClient; i++) text += JSON.stringify({ client: c, seq: i, msg: `hello ${c}/${i}` }) + "\n";
            s.end(text);
          });
          s.on("close", () => resolve());
          s.on("error", reject);
        }),
      ),
    );
    const deadline = Date.now() + 60000;
    while ((await esCount(index)) < clients * perClient && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await esCount(index), clients * perClient);
    const r = await fetch(`${ES_URL}/${index}/_search?q=client:1%20AND%20seq:399`);
    const hits = ((await r.json()) as { hits: { hits: { _source: unknown }[] } }).hits.hits;
    assert.deepEqual(hits.map((h) => h._source), [{ client: 1, seq: 399, msg: "hello 1/399" }]);
    assert.equal(pipeline.isError(), false);
  } finally {
    app.stop();
    assert.equal(await running, 0);
    await fetch(`${ES_URL}/${index}`, { method: "DELETE" });
  }
});
