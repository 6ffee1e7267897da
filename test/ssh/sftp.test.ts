// @services ssh
// SSHConnection and SFTPSink against the sshd of scripts/services/ssh (127.0.0.1:2222, user bspump,
// password bspump or the key .services/ssh/client_ed25519; SFTP chrooted, /upload writable).
// Each test writes into a folder of its own, made and read back with ssh2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import type { SFTPWrapper } from "ssh2";
import { ConfigError, Pipeline } from "../../src/core/index.js";
import { SFTPSink, SSHConnection } from "../../src/ssh/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { BatchSource, CollectSink, Fn, runUntil, testApp, until } from "../helpers/components.js";

const REPO = join(import.meta.dirname, "../..");
const SERVICES = process.env.BSPUMP_SERVICES_DIR ?? join(REPO, ".services");
const KEY = join(SERVICES, "ssh/client_ed25519");
const KNOWN_HOSTS = join(SERVICES, "ssh/known_hosts");
const LOGIN = { host: "127.0.0.1", port: 2222, user: "bspump" };

/** Runs `fn` with an SFTP session of its own (the test's view of the server). */
async function withSftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
  const client = new ssh2.Client();
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    client.on("ready", () => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    client.on("error", reject);
    client.connect({ ...LOGIN, username: LOGIN.user, privateKey: readFileSync(KEY) });
  });
  try {
    return await fn(sftp);
  } finally {
    client.end();
  }
}

/** A new folder under /upload. */
async function folder(): Promise<string> {
  const dir = `/upload/t-${randomBytes(5).toString("hex")}`;
  await withSftp((s) => new Promise<void>((resolve, reject) => s.mkdir(dir, (e) => (e ? reject(e) : resolve()))));
  return dir;
}

/** The files of a folder, name → content. */
async function contents(dir: string): Promise<Map<string, string>> {
  return withSftp(async (s) => {
    const names = await new Promise<string[]>((resolve, reject) => s.readdir(dir, (e, list) => (e ? reject(e) : resolve(list.map((f) => f.filename).sort()))));
    const out = new Map<string, string>();
    for (const name of names) out.set(name, await new Promise<string>((resolve, reject) => s.readFile(`${dir}/${name}`, (e, b) => (e ? reject(e) : resolve(b.toString("utf8"))))));
    return out;
  });
}

function sftpPipeline(events: unknown[], connectionConfig: Record<string, string | number>, sinkConfig: Record<string, string | number>, contexts?: (i: number) => Record<string, string>) {
  const app = testApp();
  const connection = new SSHConnection(app, "SSH", { config: { ...LOGIN, reconnect_delay: 0.05, max_reconnect_delay: 0.1, ...connectionConfig } });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "SFTPPipeline");
  const dead = new CollectSink(app, pipeline, { id: "Dead" });
  pipeline.deadLetter = dead;
  const source = new BatchSource(app, pipeline);
  source.events = events;
  source.batchSize = 1;
  const sink = new SFTPSink(app, pipeline, "SSH", { config: sinkConfig });
  let i = 0;
  // Routing hints an upstream processor would set.
  if (contexts) pipeline.build(source, new Fn(app, pipeline, (event, context) => (Object.assign(context, contexts(i++)), event)), sink);
  else pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink, connection, dead };
}

test("SFTPSink (password, mode a, filename): strings and bytes appended to one file, in order", async () => {
  const dir = await folder();
  const events = ["alpha\n", Buffer.from("beta\n"), "gamma ✓\n", new Uint8Array([100, 101, 108, 116, 97, 10])];
  const { app, source, connection, pipeline } = sftpPipeline(events, { password: "bspump" }, { remote_path: dir, filename: "log.txt" });
  await runUntil(app, () => source.completions === 4);
  assert.deepEqual([...(await contents(dir))], [["log.txt", "alpha\nbeta\ngamma ✓\ndelta\n"]]);
  assert.ok(source.batches.every((b) => b.error === null && b.settled === 1), "each receipt settled after the write");
  assert.equal(connection.stats.sessions, 1, "one session for all writes");
  assert.equal(connection.stats.writes, 4);
  assert.equal(pipeline.errors, 0);
});

test("SFTPSink (key, known_hosts, empty filename): one generated file for the run, prefix + Unix time + random + suffix (BSPump)", async () => {
  const dir = await folder();
  const before = Math.floor(Date.now() / 1000);
  const { app, source } = sftpPipeline(["one ", "two ", "three"], { client_keys: KEY, known_hosts: KNOWN_HOSTS }, { remote_path: dir, prefix: "ev-", filename: "", suffix: ".txt" });
  await runUntil(app, () => source.completions === 3);
  const files = await contents(dir);
  assert.deepEqual([...files.values()], ["one two three"]);
  const name = [...files.keys()][0]!;
  const m = /^ev-(\d{10})(\d{1,4})\.txt$/.exec(name);
  assert.ok(m, name);
  assert.ok(Number(m[1]) >= before && Number(m[1]) <= before + 60);
  assert.ok(Number(m[2]) >= 1 && Number(m[2]) <= 1000);
});

test("SFTPSink mode w: the file is written anew each time; overwrites counted in sink.rewritefile", async () => {
  const dir = await folder();
  const { app, source, sink } = sftpPipeline(["first", "second", "third"], { password: "bspump" }, { remote_path: dir, filename: "state.txt", mode: "w" });
  await runUntil(app, () => source.completions === 3);
  assert.deepEqual([...(await contents(dir))], [["state.txt", "third"]]);
  assert.equal(sink.rewrites.times, 2);
});

test("SFTPSink: context 'ssh.remote' and 'ssh.filename' choose the file per event", async () => {
  const a = await folder();
  const b = await folder();
  const { app, source } = sftpPipeline(["x1\n", "y1\n", "x2\n"], { password: "bspump" }, { remote_path: "/nowhere", filename: "unused" }, (i) => ({ "ssh.remote": i === 1 ? b : a, "ssh.filename": i === 1 ? "y.log" : "x.log" }));
  await runUntil(app, () => source.completions === 3);
  assert.deepEqual([...(await contents(a))], [["x.log", "x1\nx2\n"]]);
  assert.deepEqual([...(await contents(b))], [["y.log", "y1\n"]]);
});

test("SFTPSink: a write the server refuses (no such folder) fails that event by the error rules; others are written", async () => {
  const dir = await folder();
  const { app, source, dead, pipeline } = sftpPipeline(["ok\n", "lost\n", "ok again\n"], { password: "bspump" }, { filename: "f.txt" }, (i) => ({ "ssh.remote": i === 1 ? `${dir}/missing` : dir }));
  await runUntil(app, () => source.completions === 3);
  assert.deepEqual([...(await contents(dir))], [["f.txt", "ok\nok again\n"]]);
  assert.equal(dead.events.length, 1);
  assert.equal((dead.events[0] as { event: unknown }).event, "lost\n");
  assert.equal(pipeline.deadLettered, 1);
});

test("SFTPSink: an object event is an error of that event (strings and bytes only)", async () => {
  const dir = await folder();
  const { app, source, dead } = sftpPipeline([{ a: 1 }, "fine"], { password: "bspump" }, { remote_path: dir, filename: "f" });
  await runUntil(app, () => source.completions === 2);
  assert.equal(dead.events.length, 1);
  assert.deepEqual([...(await contents(dir))], [["f", "fine"]]);
});

for (const [what, config, pattern] of [
  ["a wrong password", { password: "wrong" }, /authentication failed/],
  ["an unreachable server", { password: "bspump", port: 1 }, /ECONNREFUSED/],
  ["a host key not in known_hosts", { password: "bspump", known_hosts: "OTHER" }, /host key is not in/],
] as const) {
  test(`SFTPSink: ${what} is retried (max_retries), then the event fails with a clear error; nothing crashes`, async () => {
    let knownHosts: string | undefined;
    if (config.known_hosts === "OTHER") {
      // A known_hosts file that lists another key for the server.
      knownHosts = join(mkdtempSync(join(tmpdir(), "bspump-kh-")), "known_hosts");
      writeFileSync(knownHosts, `[127.0.0.1]:2222 ${readFileSync(`${KEY}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    }
    const { app, source, dead, connection } = sftpPipeline(["never written"], { ...config, ...(knownHosts ? { known_hosts: knownHosts } : {}), max_retries: 2 }, { remote_path: "/upload", filename: "x" });
    const warnings: string[] = [];
    app.logs.writer = (r) => {
      if (r.level === "warn") warnings.push(r.msg);
    };
    await runUntil(app, () => source.completions === 1);
    assert.equal(connection.stats.failed_connects, 3, "the first attempt and two retries");
    assert.equal(dead.events.length, 1);
    const error = (dead.events[0] as { error: Error }).error;
    assert.match(error.message, pattern);
    assert.match(error.message, /gave up after 3 attempts/);
    assert.match(warnings.find((w) => w.includes("retrying"))!, /SSH 127\.0\.0\.1:(2222|1) \(connection 'SSH'\)/);
  });
}

test("SSHConnection: config errors name the key (no login method, missing key file, host-based keys)", () => {
  const app = testApp();
  assert.throws(() => new SSHConnection(app, "A", { config: { user: "u" } }), /set password or client_keys/);
  assert.throws(() => new SSHConnection(app, "B", { config: { user: "u", client_keys: "/no/such/key" } }), (e: unknown) => e instanceof ConfigError && /client_keys/.test(e.message));
  assert.throws(() => new SSHConnection(app, "C", { config: { user: "u", password: "p", client_host_keys: "/etc/ssh/ssh_host_ed25519_key" } }), /host-based authentication is not supported/);
  assert.throws(() => new SSHConnection(app, "D", { config: { user: "u", password: "p", known_hosts: KNOWN_HOSTS, host: "elsewhere" } }), /lists no key for elsewhere/);
});

test("YAML: ssh.SSHConnection and ssh.SFTPSink (args.connection) build and write", async () => {
  const dir = await folder();
  const yaml = `
connections:
  - class: ssh.SSHConnection
    id: Box
    config: {host: 127.0.0.1, port: 2222, user: bspump, password: bspump, known_hosts: "${KNOWN_HOSTS}"}
pipelines:
  - id: Upload
    sources:
      - class: random.RandomSource
        config: {field: n, number: 3, seed: 3, event_idle_time: 0}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    processors:
      - class: common.StdDictToJsonParser
    sink:
      class: ssh.SFTPSink
      args: {connection: Box}
      config: {remote_path: "${dir}", filename: numbers.ndjson}
`;
  const app = testApp();
  await new PumpBuilder("ssh.yaml", yaml).constructPump(app);
  const running = app.run();
  await until(async () => (await contents(dir)).get("numbers.ndjson")?.split("}").length === 4);
  app.stop();
  assert.equal(await running, 0);
});
