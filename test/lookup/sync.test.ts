import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import { decodeCacheFile, DictionaryLookup } from "../../src/lookup/index.js";
import "../../src/web/index.js";
import type { WebService } from "../../src/web/index.js";
import { parsePrometheus } from "../web/promparse.js";

const pumpScript = fileURLToPath(new URL("./fixtures/pump.ts", import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

interface Pump {
  child: ChildProcess;
  port: number;
  send(cmd: unknown): Promise<void>;
  stop(): Promise<number | null>;
}

/** Starts a pump child process and waits for its `READY <port>` line. */
async function startPump(configFile: string): Promise<Pump> {
  const child = spawn(process.execPath, ["--import", "tsx", pumpScript, "-c", configFile], { stdio: ["pipe", "pipe", "pipe"], cwd: process.cwd() });
  children.add(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d.toString()));
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buffer = "";
  child.stdout!.on("data", (d) => {
    buffer += d.toString();
    let i;
    while ((i = buffer.indexOf("\n")) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const nextLine = async (prefix: string, seconds = 30): Promise<string> => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const idx = lines.findIndex((l) => l.startsWith(prefix));
      if (idx >= 0) return lines.splice(idx, 1)[0]!;
      if (child.exitCode !== null) throw new Error(`pump exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`no '${prefix}' from pump within ${seconds} s: ${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const ready = await nextLine("READY ");
  return {
    child,
    port: Number(ready.split(" ")[1]),
    async send(cmd) {
      child.stdin!.write(JSON.stringify(cmd) + "\n");
      await nextLine("DONE");
    },
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

async function getLookup(port: number): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}/bspump/v1/lookup/Countries`);
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

async function lookupCounts(port: number): Promise<{ served: number; notModified: number }> {
  const families = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  const pick = (name: string) => families.get(name)?.samples.find((s) => s.labels.lookup === "Countries")?.value ?? 0;
  return { served: pick("bspump_web_lookup_served_total"), notModified: pick("bspump_web_lookup_not_modified_total") };
}

async function waitFor(what: string, seconds: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return (Date.now() - start) / 1000;
    if (Date.now() - start > seconds * 1000) throw new Error(`${what} did not happen within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What `/bspump/v1/lookup/<id>/meta` tells of a slave. */
interface LookupMeta {
  Master: boolean;
  MasterURL: string;
  Updated: number | null;
  Problem: string | null;
  Provider: { AnsweredAt: number | null } | null;
}

test("master/slave sync between two pump processes: sync, 304s, changes, persisted copy when the master is gone", { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-sync-"));
  const source = join(dir, "countries.json");
  writeFileSync(source, JSON.stringify({ CZ: "Czechia", GB: "United Kingdom" }));
  const masterIni = join(dir, "master.ini");
  writeFileSync(masterIni, `[logging]\nlevel=warn\n[web]\nlisten=127.0.0.1:0\n[lookup:Countries]\nsource_url=${source}\nupdate_period=0.5\nuse_cache=no\n`);
  const master = await startPump(masterIni);

  const interval = 1.5;
  const slaveIni = join(dir, "slave.ini");
  writeFileSync(
    slaveIni,
    `[logging]\nlevel=error\n[web]\nlisten=127.0.0.1:0\n[lookup:Countries]\nmaster_url=http://127.0.0.1:${master.port}\nupdate_period=${interval}\ncache_dir=${dir}/slave-var\nmaster_timeout=5\n`,
  );
  let slave = await startPump(slaveIni);

  // Synced at start (before the slave's pipelines ran).
  assert.deepEqual(await getLookup(slave.port), { CZ: "Czechia", GB: "United Kingdom" });
  const meta = (await (await fetch(`http://127.0.0.1:${slave.port}/bspump/v1/lookup/Countries/meta`)).json()) as LookupMeta;
  assert.equal(meta.Master, false);
  assert.equal(meta.MasterURL, `http://127.0.0.1:${master.port}/bspump/v1/lookup/Countries`);
  // The dashboard's sync state: when it changed, when the master answered, no problem.
  const now = Date.now() / 1000;
  assert.ok(typeof meta.Updated === "number" && Math.abs(now - meta.Updated) < 60, `Updated ${meta.Updated}`);
  assert.ok(typeof meta.Provider?.AnsweredAt === "number" && Math.abs(now - meta.Provider.AnsweredAt) < 60);
  assert.equal(meta.Problem, null);

  // Nothing changes: the next polls are answered 304, the data is sent once.
  await waitFor("two 304s", 30, async () => (await lookupCounts(master.port)).notModified >= 2);
  assert.equal((await lookupCounts(master.port)).served, 1, "the full lookup was sent exactly once");

  // A change on the master (a dynamic update) reaches the slave within two poll intervals.
  await master.send({ set: ["DE", "Germany"] });
  const took = await waitFor("the change on the slave", 30, async () => (await getLookup(slave.port)).DE === "Germany");
  // Two poll intervals, plus 1 s for the round trip and this test's own polling on a loaded box.
  t.diagnostic(`change reached the slave after ${took.toFixed(2)} s (poll interval ${interval} s)`);
  assert.ok(took <= 2 * interval + 1, `change arrived after ${took} s (poll interval ${interval} s)`);
  const servedAfterChange = (await lookupCounts(master.port)).served;
  assert.equal(servedAfterChange, 2);

  // A change of the master's source file: the master reloads it, the slave follows (deleted keys go).
  writeFileSync(source, JSON.stringify({ CZ: "Czech Republic", FR: "France" }));
  await waitFor("the file change on the slave", 30, async () => {
    const l = await getLookup(slave.port);
    return l.FR === "France" && !("GB" in l);
  });

  // Persisted on the slave, in its own file.
  const cacheFile = join(dir, "slave-var", "lookup_Countries.cache");
  await waitFor("the persisted copy", 10, async () => existsSync(cacheFile) && JSON.parse(decodeCacheFile(readFileSync(cacheFile)).payload.toString()).FR === "France");
  const finalContent = await getLookup(master.port);

  // Master gone; the slave restarts and serves its persisted copy.
  assert.equal(await master.stop(), 0);
  assert.equal(await slave.stop(), 0);
  slave = await startPump(slaveIni);
  assert.deepEqual(await getLookup(slave.port), finalContent);
  const slaveMetrics = parsePrometheus(await (await fetch(`http://127.0.0.1:${slave.port}/metrics`)).text());
  assert.equal(slaveMetrics.get("bspump_lookup_load_persisted_loads_total")?.samples[0]?.value, 1);
  // Its master is gone: the meta says why it is not in sync.
  await waitFor("the problem in the meta", 30, async () => {
    const m = (await (await fetch(`http://127.0.0.1:${slave.port}/bspump/v1/lookup/Countries/meta`)).json()) as LookupMeta;
    return typeof m.Problem === "string" && m.Problem.includes("/bspump/v1/lookup/Countries");
  });
  assert.equal(await slave.stop(), 0);
});

test("https master with a self-signed certificate and a shared token", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const masterCfg = Config.fromString(`[web]\nlisten=127.0.0.1:0\ntls_cert=${dir}/cert.pem\ntls_key=${dir}/key.pem\nlookup_token=shared\n`, "<master>");
  const master = new BSPumpApplication({ args: [], config: masterCfg, handleSignals: false });
  master.pumpService.addLookup(new DictionaryLookup(master, "Secure")).replace({ k: "v" });
  const up = new Promise<void>((r) => master.pubsub.subscribe("Application.run!", () => r()));
  const masterRun = master.run();
  await up;
  const web = master.getService<WebService>("bspump.WebService");
  assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+$/);

  const mkSlave = (token: string) => {
    const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<slave>"), handleSignals: false });
    return new DictionaryLookup(app, "Secure", { config: { master_url: web.url, master_ca_file: `${dir}/cert.pem`, master_token: token, use_cache: false, master_timeout: 5 } });
  };
  const good = mkSlave("shared");
  assert.equal(good.provider?.url, `${web.url}/bspump/v1/lookup/Secure`, "https kept");
  assert.equal(await good.update(), true);
  assert.equal(good.get("k"), "v");
  assert.equal(await good.update(), false, "304 on the second poll");
  assert.equal(good.provider?.stats.unchanged, 1);
  const bad = mkSlave("wrong");
  assert.equal(await bad.update(), false);
  assert.equal(bad.provider?.stats.unavailable, 1, "403 → unavailable");
  assert.equal(bad.size, 0);
  master.stop();
  assert.equal(await masterRun, 0);
});
