import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Connection, locateConnection, Pipeline, Sink, type Application, type ComponentOptions, type EventContext } from "../../src/core/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { ElasticSearchLookup, ElasticSearchSink, ElasticSearchSource } from "../../src/elasticsearch/index.js";

function makeApp(): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString("", "<test config>"), handleSignals: false });
}

class AConnection extends Connection {}
class BConnection extends Connection {}

/** A sink that takes its connection positionally and declares its class. */
class ASink extends Sink {
  static override ConnectionClass = AConnection;
  readonly connection: AConnection;
  constructor(
    app: Application,
    pipeline: Pipeline,
    connection: string | AConnection,
    readonly options: ComponentOptions & { requestBody?: unknown } = {},
  ) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, AConnection);
  }
  process(_context: EventContext, _event: unknown): null {
    return null;
  }
}

test("construct gives a declared ConnectionClass its connection: by id or as the object; other args as options", () => {
  const app = makeApp();
  const a = app.pumpService.addConnection(new AConnection(app, "A"));
  const pipeline = new Pipeline(app, "P");
  const byId = ASink.construct(app, pipeline, { id: "S1", args: { connection: "A", request_body: { q: 1 } } }) as ASink;
  assert.equal(byId.connection, a);
  assert.equal(byId.id, "S1");
  // BSPump's keyword names become the option names; the connection is not passed again as an option.
  assert.deepEqual(byId.options.requestBody, { q: 1 });
  assert.equal("connection" in byId.options, false);
  const byObject = ASink.construct(app, pipeline, { args: { connection: a } }) as ASink;
  assert.equal(byObject.connection, a);
});

test("construct: a connection of the wrong class, an unknown id or none is a ConfigError naming the definition", () => {
  const app = makeApp();
  const b = app.pumpService.addConnection(new BConnection(app, "B"));
  const pipeline = new Pipeline(app, "P");
  assert.throws(() => ASink.construct(app, pipeline, { args: { connection: "B" }, origin: "app.yaml:3" }), /^ConfigError: app\.yaml:3: args\.connection 'B' is a BConnection; ASink needs a AConnection$/);
  assert.throws(() => ASink.construct(app, pipeline, { args: { connection: b }, origin: "app.yaml:4" }), /app\.yaml:4: args\.connection is a BConnection; ASink needs a AConnection/);
  assert.throws(() => ASink.construct(app, pipeline, { args: { connection: "Nope" }, origin: "app.yaml:5" }), /app\.yaml:5: args\.connection: Connection 'Nope' not found \(known: B\)/);
  assert.throws(() => ASink.construct(app, pipeline, { args: {}, origin: "app.yaml:6" }), /app\.yaml:6: args\.connection \(the id of a AConnection\) is required/);
});

test("YAML: a source, sink or lookup naming a connection of another class is a clear error with its line", async () => {
  const head = `
connections:
  - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "http://127.0.0.1:9"}}
  - {id: DB, class: mysql.MySQLConnection}
`;
  const pipeline = (source: string, sink: string): string => `pipelines:
  - id: P
    sources: [${source}]
    sink: ${sink}
`;
  const source = `{class: elasticsearch.ElasticSearchSource, args: {connection: ES}, trigger: {class: RunOnceTrigger}}`;
  await assert.rejects(
    new PumpBuilder("wrong.yaml", head + pipeline(source, "{class: mysql.MySQLSink, args: {connection: ES}}")).constructPump(makeApp()),
    /wrong\.yaml:8: args\.connection 'ES' is a ElasticSearchConnection; MySQLSink needs a MySQLConnection/,
  );
  await assert.rejects(
    new PumpBuilder("wrong.yaml", head + pipeline("{class: elasticsearch.ElasticSearchSource, args: {connection: DB}}", "{class: common.NullSink}")).constructPump(makeApp()),
    /wrong\.yaml:7: args\.connection 'DB' is a MySQLConnection; ElasticSearchSource needs a ElasticSearchConnection/,
  );
  await assert.rejects(
    new PumpBuilder("wrong.yaml", head + "lookups:\n  - {id: L, class: elasticsearch.ElasticSearchLookup, args: {connection: DB}}\n" + pipeline(source, "{class: common.NullSink}")).constructPump(makeApp()),
    /wrong\.yaml:6: args\.connection 'DB' is a MySQLConnection; ElasticSearchLookup needs a ElasticSearchConnection/,
  );
  // The right classes build, with the connection located by id.
  const app = makeApp();
  await new PumpBuilder(
    "right.yaml",
    head + "lookups:\n  - {id: L, class: elasticsearch.ElasticSearchLookup, args: {connection: ES, lazy: true}, config: {index: i, key: k}}\n" + pipeline(source, "{id: Out, class: elasticsearch.ElasticSearchSink, args: {connection: ES}}"),
  ).constructPump(app);
  const es = app.pumpService.locateConnection("ES");
  const built = app.pumpService.locatePipeline("P")!;
  assert.equal((built.locateProcessor("Out") as ElasticSearchSink).connection, es);
  assert.ok(built.locateSource("ElasticSearchSource") instanceof ElasticSearchSource);
  const lookup = app.pumpService.locateLookup<ElasticSearchLookup>("L");
  assert.equal(lookup.lazy, true);
});
