// @services postgres
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { PumpBuilder } from "../../src/declarative/index.js";
import { PostgreSQLLookup, PostgreSQLLogicalReplicationSource, PostgreSQLSink, PostgreSQLSource } from "../../src/postgresql/index.js";
import { stopApps, trackedApp } from "../helpers/components.js";
import { uniqueName } from "../helpers/services.js";
import { client, DB, psql } from "./helpers.js";

let db: pg.Client;
const from = uniqueName("bspump_yfrom");
const to = uniqueName("bspump_yto");
before(async () => {
  db = await client();
  await db.query(`CREATE TABLE ${from} (id INT PRIMARY KEY, name TEXT)`);
  await db.query(`CREATE TABLE ${to} (id INT PRIMARY KEY, name TEXT)`);
  await db.query(`INSERT INTO ${from} SELECT i, 'n' || i FROM generate_series(1, 2500) AS i`);
});
after(async () => {
  stopApps();
  await db.query(`DROP TABLE IF EXISTS ${from}, ${to}`);
  await db.end();
});

const connection = `{id: PG, class: postgresql.PostgreSQLConnection, config: {host: ${DB.host}, user: ${DB.user}, password: ${DB.password}, db: ${DB.database}}}`;

test("a YAML application copies a table with PostgreSQLSource → PostgreSQLSink (upsert) and builds the lookup and a CDC source", async () => {
  const yaml = `
connections:
  - ${connection}
lookups:
  - {id: Names, class: postgresql.PostgreSQLLookup, args: {connection: PG}, config: {from: ${from}, key: id}}
pipelines:
  - id: Copy
    sources:
      - {id: Src, class: postgresql.PostgreSQLSource, args: {connection: PG}, config: {query: "SELECT id, name FROM ${from}", stream_buffer: 400}, trigger: {class: RunOnceTrigger}}
    sink: {id: Sink, class: postgresql.PostgreSQLSink, args: {connection: PG}, config: {table: ${to}, data: "id, name", upsert_key: id, flush_period: 0.05}}
  - id: Changes
    sources:
      - {id: CDC, class: postgresql.PostgreSQLLogicalReplicationSource, args: {connection: PG}, config: {slot_name: never_started_here}}
    sink: {class: common.NullSink}
`;
  const app = trackedApp();
  await new PumpBuilder("copy.yaml", yaml).constructPump(app);
  const pipeline = app.pumpService.locatePipeline("Copy")!;
  assert.ok(pipeline.locateSource("Src") instanceof PostgreSQLSource);
  assert.ok(pipeline.locateProcessor("Sink") instanceof PostgreSQLSink);
  assert.ok(app.pumpService.locatePipeline("Changes")!.locateSource("CDC") instanceof PostgreSQLLogicalReplicationSource);
  const lookup = app.pumpService.locateLookup<PostgreSQLLookup>("Names");
  assert.ok(lookup instanceof PostgreSQLLookup);
  assert.deepEqual(await lookup.lookup("7"), { id: 7, name: "n7" });
  // Only the copy runs (the CDC pipeline is built, not started).
  app.pumpService.pipelines.delete("Changes");
  const sink = pipeline.locateProcessor("Sink") as PostgreSQLSink;
  const running = app.run();
  while (sink.counts.rows < 2500) await new Promise((r) => setTimeout(r, 20));
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(psql(`SELECT count(*), max(name) FROM ${to}`), ["2500|n999"]);
});

test("YAML: a PostgreSQLSink without its connection argument, or with a bad method, is a clear error with file and line", async () => {
  const base = (sink: string) => `
connections:
  - ${connection}
pipelines:
  - id: P
    sources: [{class: postgresql.PostgreSQLSource, args: {connection: PG}, config: {query: "SELECT 1"}, trigger: {class: RunOnceTrigger}}]
    sink: ${sink}
`;
  await assert.rejects(new PumpBuilder("bad.yaml", base("{class: postgresql.PostgreSQLSink, config: {table: t, data: a}}")).constructPump(trackedApp()), /bad\.yaml:\d+.*args\.connection/);
  await assert.rejects(new PumpBuilder("bad.yaml", base("{class: postgresql.PostgreSQLSink, args: {connection: PG}, config: {table: t, data: a, method: bulk}}")).constructPump(trackedApp()), /bad\.yaml:\d+.*method/);
});
