// @services ftp
// FTPConnection and FTPSource against the vsftpd of scripts/services/ftp (127.0.0.1:2121, bspump/bspump).
// Each test uploads its files into a folder of its own with basic-ftp, then reads them with the source.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Client } from "basic-ftp";
import { ConfigError, Pipeline, RunOnceTrigger, PeriodicTrigger } from "../../src/core/index.js";
import { FTPConnection, FTPSource } from "../../src/ftp/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { CollectSink, FailOn, runUntil, testApp, until } from "../helpers/components.js";

const LOGIN = { hostname: "127.0.0.1", port: 2121, username: "bspump", password: "bspump" };
const REPO = join(import.meta.dirname, "../..");
const SERVICES = process.env.BSPUMP_SERVICES_DIR ?? join(REPO, ".services");
const CERT = join(SERVICES, "ftp/cert.pem");

/** A folder of its own on the server with the given files (and a subfolder, which the source skips). */
async function folder(files: Record<string, Buffer | string>): Promise<string> {
  const dir = `/t-${randomBytes(5).toString("hex")}`;
  const client = new Client();
  try {
    await client.access({ host: LOGIN.hostname, port: LOGIN.port, user: LOGIN.username, password: LOGIN.password });
    await client.ensureDir(`${dir}/sub`);
    await client.uploadFrom(Readable.from([Buffer.from("in a subfolder\n")]), `${dir}/sub/skipped.txt`);
    for (const [name, content] of Object.entries(files)) await client.uploadFrom(Readable.from([Buffer.from(content)]), `${dir}/${name}`);
  } finally {
    client.close();
  }
  return dir;
}

async function remoteFiles(dir: string): Promise<string[]> {
  const client = new Client();
  try {
    await client.access({ host: LOGIN.hostname, port: LOGIN.port, user: LOGIN.username, password: LOGIN.password });
    return (await client.list(dir)).filter((f) => f.isFile).map((f) => f.name).sort();
  } finally {
    client.close();
  }
}

function ftpPipeline(connectionConfig: Record<string, string | number | boolean>, sourceConfig: Record<string, string | number>, fails?: (event: unknown) => boolean) {
  const app = testApp();
  const connection = new FTPConnection(app, "FTP", { config: { ...LOGIN, reconnect_delay: 0.05, max_reconnect_delay: 0.2, ...connectionConfig } });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "FTPPipeline");
  const source = new FTPSource(app, pipeline, "FTP", { config: sourceConfig }).on(new RunOnceTrigger(app));
  const sink = new CollectSink(app, pipeline);
  if (fails) pipeline.build(source, new FailOn(app, pipeline, fails), sink);
  else pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink, connection };
}

test("FTPSource (block, mode r): every file of the folder as bytes blocks, folders skipped, files left on the server", async () => {
  const big = randomBytes(300_000);
  const dir = await folder({ "a.bin": big, "b.txt": "hello\nworld\n", "empty.txt": "" });
  const { app, source, sink, pipeline } = ftpPipeline({}, { remote_path: dir });
  await runUntil(app, () => source.stats.cycles === 1 && source.stats.files === 3);
  const byFile = new Map<string, Buffer[]>();
  sink.events.forEach((e, i) => {
    assert.ok(Buffer.isBuffer(e), "a block is a Buffer");
    const name = sink.contexts[i]!.filename as string;
    byFile.set(name, [...(byFile.get(name) ?? []), e]);
  });
  assert.deepEqual([...byFile.keys()].sort(), [`${dir}/a.bin`, `${dir}/b.txt`]);
  assert.ok(byFile.get(`${dir}/a.bin`)!.length > 1, "a large file comes in several blocks");
  assert.ok(Buffer.concat(byFile.get(`${dir}/a.bin`)!).equals(big), "the blocks make up the file, in order");
  assert.equal(Buffer.concat(byFile.get(`${dir}/b.txt`)!).toString(), "hello\nworld\n");
  assert.equal(sink.contexts[0]!["ftp.remote_path"], dir);
  assert.equal(source.stats.bytes, big.length + 12);
  assert.equal(pipeline.errors, 0);
  assert.deepEqual(await remoteFiles(dir), ["a.bin", "b.txt", "empty.txt"]);
});

test("FTPSource (framing line, encoding utf-8, filename): only that file, one string per line with its number", async () => {
  const dir = await folder({ "lines.txt": "první\r\ndruhý\n\ntřetí", "other.txt": "not read\n" });
  const { app, source, sink } = ftpPipeline({}, { remote_path: dir, filename: "lines.txt", framing: "line", encoding: "utf-8" });
  await runUntil(app, () => source.stats.cycles === 1 && source.stats.files === 1);
  assert.deepEqual(sink.events, ["první", "druhý", "", "třetí"]);
  assert.deepEqual(sink.contexts.map((c) => c.line), [1, 2, 3, 4]);
  assert.ok(sink.contexts.every((c) => c.filename === `${dir}/lines.txt`));
});

test("FTPSource mode p (pop): each file deleted once all its events settled; a line over max_line_length is bad input", async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`);
  const dir = await folder({ "one.txt": lines.join("\n") + "\n", "two.txt": `short\n${"x".repeat(200)}\nend\n` });
  const { app, source, sink, pipeline } = ftpPipeline({}, { remote_path: dir, mode: "p", framing: "line", max_line_length: 100 });
  await runUntil(app, () => source.stats.deleted === 2);
  assert.equal(sink.events.length, 2002, "every line but the long one");
  assert.ok(sink.events.every((e) => Buffer.isBuffer(e)), "encoding bytes: Buffer lines");
  const two = sink.events.filter((_, i) => sink.contexts[i]!.filename === `${dir}/two.txt`).map(String);
  assert.deepEqual(two, ["short", "end"]);
  assert.equal(pipeline.warnings, 1, "the long line, counted once");
  assert.deepEqual(await remoteFiles(dir), []);
});

test("FTPSource mode p: a file with a failed event stays on the server (read again later)", async () => {
  const dir = await folder({ "bad.txt": "ok\nFAIL\nok\n" });
  const { app, source, pipeline } = ftpPipeline({}, { remote_path: dir, mode: "p", framing: "line", encoding: "utf-8" }, (e) => e === "FAIL");
  await runUntil(app, () => source.stats.kept === 1);
  assert.ok(pipeline.errors >= 1);
  assert.equal(source.stats.deleted, 0);
  assert.deepEqual(await remoteFiles(dir), ["bad.txt"]);
});

test("FTPSource: a missing filename ends the cycle with a warning; the next cycle tries again; nothing crashes", async () => {
  const dir = await folder({});
  const app = testApp();
  const connection = new FTPConnection(app, "FTP", { config: LOGIN });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "P");
  const source = new FTPSource(app, pipeline, connection, { config: { remote_path: dir, filename: "nope.txt" } }).on(new PeriodicTrigger(app, 0.05));
  pipeline.build(source, new CollectSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  await runUntil(app, () => source.stats.failures >= 2);
  assert.equal(pipeline.errors, 0, "not a pipeline error");
  assert.equal(source.stats.files, 0);
});

for (const [what, config] of [
  ["a wrong password", { password: "wrong" }],
  ["an unreachable server", { port: 1 }],
] as const) {
  test(`FTPSource: ${what} is a clear warning, retried with backoff until stop; no crash, no pipeline error`, async () => {
    const { app, source, pipeline, connection } = ftpPipeline(config, { remote_path: "/" });
    const warnings: string[] = [];
    app.logs.writer = (record) => {
      if (record.level === "warn") warnings.push(record.msg);
    };
    await runUntil(app, () => connection.stats.failed_logins >= 3);
    assert.equal(source.stats.files, 0);
    assert.equal(pipeline.errors, 0);
    assert.ok(warnings.length >= 2);
    assert.match(warnings[0]!, /^FTP 127\.0\.0\.1:(2121|1) \(connection 'FTP'\): .+; retrying in 0\.1 s \(attempt 1\)$/);
    if (what === "a wrong password") assert.match(warnings[0]!, /530/);
    else assert.match(warnings[0]!, /ECONNREFUSED/);
  });
}

test("FTPConnection secure (explicit FTPS): the server's certificate trusted through tls_cafile; refused without it, and retried", async () => {
  const dir = await folder({ "s.txt": "over TLS\n" });
  {
    const { app, source, sink } = ftpPipeline({ secure: true, tls_cafile: CERT }, { remote_path: dir, framing: "line", encoding: "utf-8" });
    await runUntil(app, () => source.stats.files === 1);
    assert.deepEqual(sink.events, ["over TLS"]);
  }
  {
    const { app, source, connection } = ftpPipeline({ secure: true }, { remote_path: dir });
    const warnings: string[] = [];
    app.logs.writer = (record) => {
      if (record.level === "warn") warnings.push(record.msg);
    };
    await runUntil(app, () => connection.stats.failed_logins >= 2);
    assert.equal(source.stats.files, 0);
    assert.match(warnings[0]!, /self-signed certificate/);
  }
});

test("FTPSource: a stop in the middle of a download cuts it; in pop mode the file stays on the server", async () => {
  const dir = await folder({ "big.bin": randomBytes(4_000_000) });
  const { app, source, sink, pipeline } = ftpPipeline({}, { remote_path: dir, mode: "p" });
  // The pipeline stops taking blocks after the first few: the download waits, then the app stops.
  const holder = {};
  const running = app.run();
  await until(() => sink.events.length >= 3);
  pipeline.throttle(holder, true);
  await new Promise((r) => setTimeout(r, 200));
  const seen = source.stats.bytes;
  assert.ok(seen < 4_000_000, "the download waits for the pipeline");
  app.stop();
  assert.equal(await running, 0);
  assert.equal(source.stats.deleted, 0);
  assert.deepEqual(await remoteFiles(dir), ["big.bin"]);
});

test("FTPSource: config checks — mode and framing have fixed choices", () => {
  const app = testApp();
  const connection = new FTPConnection(app, "FTP", { config: LOGIN });
  assert.throws(() => new FTPSource(app, new Pipeline(app, "P1"), connection, { config: { mode: "x" } }), ConfigError);
  assert.throws(() => new FTPSource(app, new Pipeline(app, "P2"), connection, { config: { framing: "lines" } }), ConfigError);
  assert.throws(() => new FTPSource(app, new Pipeline(app, "P3"), connection, { config: { framing: "line", encoding: "no-such" } }), ConfigError);
});

test("YAML: ftp.FTPConnection and ftp.FTPSource (args.connection) build and read", async () => {
  const dir = await folder({ "y.txt": "from yaml\n" });
  const yaml = `
connections:
  - class: ftp.FTPConnection
    id: Server
    config: {hostname: 127.0.0.1, port: 2121, username: bspump, password: bspump}
pipelines:
  - id: Fetch
    sources:
      - class: ftp.FTPSource
        args: {connection: Server}
        config: {remote_path: "${dir}", framing: line, encoding: utf-8}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    sink:
      class: common.NullSink
`;
  const app = testApp();
  await new PumpBuilder("ftp.yaml", yaml).constructPump(app);
  const pipeline = app.pumpService.locate("Fetch") as Pipeline;
  const running = app.run();
  await until(() => pipeline.eventIn === 1);
  app.stop();
  assert.equal(await running, 0);
});
