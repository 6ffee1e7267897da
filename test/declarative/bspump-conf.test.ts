import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as bspump from "../../src/index.js";
import { BSPumpApplication, Config, Pipeline } from "../../src/core/index.js";

// A BSPump user's configuration file with a section for a component of every family, loaded
// unchanged: the pipelines are built as the user's Python application built them (here in
// TypeScript), nothing is started (no server is needed), and every section and key is accepted
// and read with its value.

const FIXTURES = join(import.meta.dirname, "fixtures");

function build(): BSPumpApplication {
  const config = new Config();
  config.loadFile(join(FIXTURES, "bspump-every-family.conf"), { ...process.env, FIXTURES });
  const app = new BSPumpApplication({ args: [], config, handleSignals: false });
  const svc = app.pumpService;
  svc.addConnection(new bspump.kafka.KafkaConnection(app, "KafkaConnection"));
  svc.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ElasticSearchConnection"));
  svc.addConnection(new bspump.amqp.AMQPConnection(app, "AMQPConnection"));
  svc.addConnection(new bspump.mysql.MySQLConnection(app, "MySQLConnection"));
  svc.addConnection(new bspump.influxdb.InfluxDBConnection(app, "InfluxDBConnection"));
  svc.addConnection(new bspump.postgresql.PostgreSQLConnection(app, "PostgreSQLConnection"));
  svc.addConnection(new bspump.slack.SlackConnection(app, "SlackConnection"));
  svc.addConnection(new bspump.mail.SmtpConnection(app, "SmtpConnection"));
  svc.addLookup(new bspump.lookup.DictionaryLookup(app, "CountryLookup"));

  const pipeline = (id: string, build: (p: Pipeline) => void) => {
    const p = new Pipeline(app, id);
    build(p);
    svc.addPipeline(p);
  };
  pipeline("KafkaPipeline", (p) =>
    p.build(
      new bspump.kafka.KafkaSource(app, p, "KafkaConnection"),
      new bspump.common.StdJsonToDictParser(app, p),
      new bspump.filter.ContentFilter(app, p, { query: { status: { $gte: 500 } } }),
      new bspump.analyzer.TimeWindowAnalyzer(app, p),
      new bspump.common.DictToJsonBytesParser(app, p),
      new bspump.kafka.KafkaSink(app, p, "KafkaConnection"),
    ),
  );
  pipeline("FilePipeline", (p) =>
    p.build(new bspump.file.FileCSVSource(app, p), new bspump.crypto.HashingProcessor(app, p), new bspump.elasticsearch.ElasticSearchSink(app, p, "ElasticSearchConnection")),
  );
  pipeline("RabbitPipeline", (p) =>
    p.build(new bspump.amqp.AMQPSource(app, p, "AMQPConnection"), new bspump.xml.XMLParserProcessor(app, p), new bspump.influxdb.InfluxDBSink(app, p, "InfluxDBConnection")),
  );
  pipeline("MySQLPipeline", (p) => p.build(new bspump.mysql.MySQLSource(app, p, "MySQLConnection"), new bspump.parquet.ParquetSink(app, p)));
  pipeline("PostgreSQLPipeline", (p) => p.build(new bspump.postgresql.PostgreSQLSource(app, p, "PostgreSQLConnection"), new bspump.postgresql.PostgreSQLSink(app, p, "PostgreSQLConnection")));
  pipeline("SocketPipeline", (p) => p.build(new bspump.socket.TCPStreamSource(app, p), new bspump.slack.SlackTextSink(app, p, "SlackConnection", { id: "SlackSink" })));
  pipeline("HTTPPipeline", (p) => p.build(new bspump.http.HTTPClientSource(app, p), new bspump.mail.SmtpSink(app, p, "SmtpConnection")));
  pipeline("ProcessPipeline", (p) =>
    p.build(new bspump.subprocess.SubProcessSource(app, p), new bspump.anomaly.AnomalyAnalyzer(app, p), new bspump.file.FileLineSink(app, p)),
  );
  pipeline("RandomPipeline", (p) => p.build(new bspump.random.RandomSource(app, p), new bspump.avro.AvroSerializer(app, p), new bspump.common.NullSink(app, p)));
  return app;
}

test("a BSPump .conf with a section for every family loads unchanged: every section is used, every key accepted", () => {
  const app = build();
  assert.deepEqual(app.configProblems().map((e) => e.message), []);
  const kafka = app.pumpService.locatePipeline("KafkaPipeline")!;
  const source = kafka.sources[0] as bspump.kafka.KafkaSource;
  assert.equal(source.groupId, "bspump-ingest", "BSPump's group_id is librdkafka's group.id");
  assert.equal(source.config.getString("auto.offset.reset"), "earliest");
  const sink = kafka.processors.at(-1)!.at(-1) as bspump.kafka.KafkaSink;
  assert.equal(sink.config.getString("acks"), "all");
  const es = app.pumpService.locateConnection("ElasticSearchConnection") as bspump.elasticsearch.ElasticSearchConnection;
  assert.equal(es.config.getInt("bulk_out_max_size"), 1048576);
  const csv = app.pumpService.locatePipeline("FilePipeline")!.sources[0] as bspump.file.FileCSVSource;
  assert.equal(csv.config.getString("delimiter"), ";");
  const sub = app.pumpService.locatePipeline("ProcessPipeline")!.sources[0] as bspump.subprocess.SubProcessSource;
  assert.equal(sub.config.getString("command"), "tail -F /var/log/syslog");
});

test("a misspelt key in such a file is refused with file, line, section and key", () => {
  const text = `[pipeline:P:RandomSource]\nnumbr = 5\n`;
  const bad = Config.fromString(text, "typo.conf");
  const app = new BSPumpApplication({ args: [], config: bad, handleSignals: false });
  const p = new Pipeline(app, "P");
  assert.throws(() => new bspump.random.RandomSource(app, p), /typo\.conf:2.*\[pipeline:P:RandomSource\].*'numbr'/s);
});
