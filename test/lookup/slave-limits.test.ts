import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, ConfigError } from "../../src/core/index.js";
import { DictionaryLookup, encodeCacheFile, HTTPLookupProvider } from "../../src/lookup/index.js";
import { peakGrowthMB } from "../helpers/memory.js";

const MiB = 1024 * 1024;

/** A real HTTP server playing a hostile master; `sent` counts the bytes it managed to write. */
async function master(handler: (req: IncomingMessage, res: ServerResponse, count: (n: number) => void) => void): Promise<{ url: string; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const server: Server = createServer((req, res) => handler(req, res, (n) => (sent += n)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bspump/v1/lookup/Countries`,
    sent: () => sent,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const quietLog = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false }).log;

test("master_timeout bounds the whole answer: a master trickling a byte every 200 ms is given up after it", async () => {
  const timers = new Set<NodeJS.Timeout>();
  const m = await master((_req, res) => {
    res.writeHead(200, { "Content-Length": "1000000", ETag: '"x"' });
    const t = setInterval(() => res.write("{"), 200);
    timers.add(t);
    res.on("close", () => clearInterval(t));
  });
  try {
    const provider = new HTTPLookupProvider(m.url, { timeout: 1, maxSize: MiB, token: "", caFile: "", log: quietLog });
    const started = Date.now();
    const result = await provider.load();
    const took = Date.now() - started;
    assert.equal(result.status, "unavailable");
    assert.match((result as { reason: string }).reason, /master_timeout \(1 s\)/);
    assert.ok(took >= 900 && took < 3000, `gave up after ${took} ms`);
  } finally {
    for (const t of timers) clearInterval(t);
    await m.close();
  }
});

test("master_max_size caps the answer: a 400 MB stream is cut after the cap, a declared one is not read", async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x7b);
  const streaming = await master((_req, res, count) => {
    res.writeHead(200, { ETag: '"big"' }); // chunked: no size declared
    let left = 400 * MiB;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        left -= chunk.length;
        count(chunk.length);
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("error", () => undefined);
    pump();
  });
  const declared = await master((_req, res, count) => {
    res.writeHead(200, { "Content-Length": String(400 * MiB) });
    res.write(chunk);
    count(chunk.length);
    res.on("error", () => undefined);
  });
  try {
    const started = Date.now();
    const provider = new HTTPLookupProvider(streaming.url, { timeout: 30, maxSize: 4 * MiB, token: "", caFile: "", log: quietLog });
    let result: Awaited<ReturnType<HTTPLookupProvider["load"]>> | undefined;
    const growth = await peakGrowthMB(async () => void (result = await provider.load()));
    assert.ok(result !== undefined);
    assert.equal(result.status, "unavailable");
    assert.match((result as { reason: string }).reason, /larger than master_max_size \(4194304 bytes\)/);
    assert.ok(Date.now() - started < 5000, "given up at once");
    assert.ok(streaming.sent() < 64 * MiB, `the master wrote ${streaming.sent()} bytes before the slave hung up`);
    assert.ok(growth < 100, `RSS grew by ${growth.toFixed(0)} MB: nowhere near the 400 MB answer (2.2 GB before the cap)`);
    const refused = await new HTTPLookupProvider(declared.url, { timeout: 30, maxSize: 4 * MiB, token: "", caFile: "", log: quietLog }).load();
    assert.equal(refused.status, "unavailable");
    assert.match((refused as { reason: string }).reason, /master_max_size/);
  } finally {
    await streaming.close();
    await declared.close();
  }
});

test("a slave with a persisted copy starts on it at once; the slow master's answer replaces it later; stop is not held", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-slave-"));
  mkdirSync(join(dir, "var"));
  writeFileSync(join(dir, "var", "lookup_Countries.cache"), encodeCacheFile('"old"', Buffer.from(JSON.stringify({ CZ: "Czechia" }))));
  let answer: (() => void) | null = null;
  let requests = 0;
  const asked: unknown[] = [];
  const m = await master((req, res) => {
    requests++;
    asked.push(req.headers["if-none-match"]);
    // The first request is answered after 1.5 s; later ones never (a master that hangs).
    if (requests === 1) answer = () => res.writeHead(200, { ETag: '"new"' }).end(JSON.stringify({ CZ: "Czech Republic", FR: "France" }));
  });
  const ini = `[lookup:Countries]\nmaster_url=${m.url.replace(/\/bspump.*/, "")}\nmaster_timeout=60\nupdate_period=0.2\ncache_dir=${join(dir, "var")}\n`;
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "slave.conf"), handleSignals: false });
  app.logs.writer = () => {};
  const lookup = app.pumpService.addLookup(new DictionaryLookup(app, "Countries"));
  const started = Date.now();
  const running = new Promise<number>((resolve) => {
    app.pubsub.subscribe("Application.run!", () => resolve(Date.now() - started));
  });
  const exit = app.run();
  try {
    const startedAfter = await running;
    assert.ok(startedAfter < 1000, `pipelines could start after ${startedAfter} ms, not after master_timeout`);
    assert.equal(lookup.get("CZ"), "Czechia", "serving the persisted copy");
    await new Promise((r) => setTimeout(r, 1500));
    answer!();
    const deadline = Date.now() + 5000;
    while (lookup.get("FR") !== "France" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(lookup.get("CZ"), "Czech Republic", "the master's answer replaced the copy");
    assert.equal(asked[0], '"old"', "the slave asked with the persisted copy's ETag");
    // Now a poll hangs on the master (master_timeout 60 s): stopping must not wait for it.
    while (requests < 2 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
    const stopAt = Date.now();
    app.stop();
    assert.equal(await exit, 0);
    assert.ok(Date.now() - stopAt < 2000, `stopped after ${Date.now() - stopAt} ms`);
  } finally {
    await m.close();
  }
});

test("a slave without a persisted copy, its master silent: a stop while the app is still starting is not held for master_timeout", async () => {
  let asked = 0;
  const m = await master(() => void asked++); // never answers
  const ini = `[lookup:Countries]\nmaster_url=${m.url.replace(/\/bspump.*/, "")}\nmaster_timeout=60\n`;
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "slave.conf"), handleSignals: false });
  app.logs.writer = () => {};
  const lookup = app.pumpService.addLookup(new DictionaryLookup(app, "Countries"));
  const exit = app.run();
  try {
    const deadline = Date.now() + 5000;
    while (asked === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(asked, 1, "the slave is waiting for its master");
    const stopAt = Date.now();
    app.stop(); // what SIGTERM does
    assert.equal(await exit, 0);
    // Before: run() waited for the whole master_timeout (60 s) before it even began to stop.
    assert.ok(Date.now() - stopAt < 2000, `stopped after ${Date.now() - stopAt} ms`);
    assert.equal(lookup.size, 0);
  } finally {
    await m.close();
  }
});

test("the slave's limits are declared bounds: master_timeout 0, master_max_size 0, a negative update_period are config errors", () => {
  for (const [key, value] of [["master_timeout", "0"], ["master_max_size", "0"], ["update_period", "-1"]] as const) {
    const app = new BSPumpApplication({ args: [], config: Config.fromString(`[lookup:L]\nmaster_url=http://127.0.0.1:9\n${key}=${value}\n`, "b.conf"), handleSignals: false });
    assert.throws(() => new DictionaryLookup(app, "L"), (e: Error) => e instanceof ConfigError && e.message.startsWith(`b.conf:3: [lookup:L] key '${key}'`), key);
  }
});
