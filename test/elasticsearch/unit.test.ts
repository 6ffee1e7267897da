import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Receipt } from "../../src/core/index.js";
import {
  ElasticSearchBulk,
  ElasticSearchClient,
  ElasticSearchNetworkError,
  IndexNamePattern,
  flatten,
  formatDate,
  parseUrls,
  toEpochSeconds,
} from "../../src/elasticsearch/index.js";
import { dateRange } from "../../src/elasticsearch/datedIndices.js";
import { templateKind } from "../../src/elasticsearch/templates.js";

describe("index name patterns", () => {
  test("strftime fields in UTC, cached per slot", () => {
    const p = new IndexNamePattern("events-%Y.%m.%d");
    assert.equal(p.format(Date.UTC(2024, 1, 29, 23, 59, 59) / 1000), "events-2024.02.29");
    assert.equal(p.format(Date.UTC(2024, 2, 1) / 1000), "events-2024.03.01");
    assert.equal(new IndexNamePattern("plain").format(0), "plain");
    assert.equal(new IndexNamePattern("x-%H%M").format(3600 * 5 + 61), "x-0501");
    assert.equal(formatDate("%G-W%V-%j-%y-%%", new Date(Date.UTC(2021, 0, 3))), "2020-W53-003-21-%");
    assert.throws(() => new IndexNamePattern("x-%Q"), /unsupported field %Q/);
  });

  test("event times: seconds, milliseconds, ISO strings, Dates", () => {
    assert.equal(toEpochSeconds(1709251200), 1709251200);
    assert.equal(toEpochSeconds(1709251200000), 1709251200);
    assert.equal(toEpochSeconds("1709251200"), 1709251200);
    assert.equal(toEpochSeconds("2024-03-01T00:00:00Z"), 1709251200);
    assert.equal(toEpochSeconds(new Date(1709251200000)), 1709251200);
    assert.equal(Number.isNaN(toEpochSeconds({})), true);
    assert.equal(Number.isNaN(toEpochSeconds("garbage")), true);
  });
});

test("URLs: BSPump's ';' syntax and several lines", () => {
  assert.deepEqual(parseUrls("http://h1:9200;h2:9200/"), ["http://h1:9200/", "http://h2:9200/"]);
  assert.deepEqual(parseUrls("https://a:9200\n  https://b:9200/x"), ["https://a:9200/", "https://b:9200/x/"]);
  assert.deepEqual(parseUrls(""), []);
});

describe("bulk", () => {
  test("items split back into their lines; receipts settled per item through a tally", () => {
    const bulk = new ElasticSearchBulk("i", null);
    const done: Receipt[] = [];
    const r1 = new Receipt((r) => done.push(r));
    const r2 = new Receipt((r) => done.push(r));
    r1.add(2);
    r2.add(2);
    bulk.append('{"index":{"_id":"a"}}\n{"x":1}\n', r1);
    bulk.append('{"delete":{"_id":"b"}}\n', r1);
    bulk.append('{"update":{"_id":"c"}}\n{"doc":{"y":"a\\nb"},"doc_as_upsert":true}\n', r2);
    bulk.append('{"create":{}}\n{"z":3}\n', r2);
    r1.seal();
    r2.seal();
    assert.equal(bulk.items, 4);
    assert.deepEqual(bulk.itemLines(), ['{"index":{"_id":"a"}}\n{"x":1}\n', '{"delete":{"_id":"b"}}\n', '{"update":{"_id":"c"}}\n{"doc":{"y":"a\\nb"},"doc_as_upsert":true}\n', '{"create":{}}\n{"z":3}\n']);
    const failed = ElasticSearchBulk.settleSucceeded(bulk, new Set([1, 3]));
    assert.deepEqual(failed, [r1, r2]);
    failed[0]!.fail(new Error("x"));
    failed[1]!.fail(new Error("y"));
    assert.equal(done.length, 2);
    assert.equal(r1.settledCount, 1);
    assert.equal(r1.failedCount, 1);
  });
});

test("aggregations flatten into one event per leaf", () => {
  const out: Record<string, unknown>[] = [];
  flatten("host", { buckets: [{ key: "a", doc_count: 2, day: { buckets: [{ key: 1, doc_count: 2, avg: { value: 1.5 } }] } }, { key: "b", doc_count: 1 }] }, {}, out);
  assert.deepEqual(out, [{ host: "a", day: 1, avg: 1.5 }, { host: "b", doc_count: 1 }]);
});

test("bselastic helpers: date ranges and template kinds", () => {
  assert.deepEqual(dateRange("2024-01-01", "2024-01-01"), [Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 2)]);
  assert.throws(() => dateRange("2024-01-02", "2024-01-01"));
  assert.equal(templateKind({ index_patterns: ["x"], template: {} }), "composable");
  assert.equal(templateKind({ index_patterns: ["x"], mappings: {} }), "legacy");
});

describe("client against local web servers", () => {
  async function server(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
    const s = http.createServer(handler);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
  }

  test("round robin, a dead node skipped, auth headers sent, 429 retried with backoff", async () => {
    const seen: { node: string; auth?: string; path?: string }[] = [];
    let busy = 2;
    const a = await server((req, res) => {
      seen.push({ node: "a", auth: req.headers.authorization, path: req.url });
      if (req.url?.startsWith("/busy") && busy-- > 0) {
        res.writeHead(429).end("{}");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    const b = await server((req, res) => {
      seen.push({ node: "b", auth: req.headers.authorization, path: req.url });
      res.writeHead(200).end('{"ok":true}');
    });
    const gone = await server(() => {});
    const goneUrl = gone.url;
    await gone.close();
    const client = new ElasticSearchClient({ urls: [a.url, b.url, goneUrl], apiKey: "k3y", deadNodeRetry: 60 });
    try {
      for (let i = 0; i < 6; i++) {
        const r = await client.requestWithRetry("GET", `x${i}`, undefined, { retries: 3, backoff: 0.01 });
        assert.equal(r.status, 200);
      }
      assert.deepEqual(seen.map((s) => s.node), ["a", "b", "a", "b", "a", "b"], "the dead node is skipped after its first refusal");
      assert.equal(seen.every((s) => s.auth === "ApiKey k3y"), true);
      const onlyA = new ElasticSearchClient({ urls: [a.url], username: "u", password: "p" });
      seen.length = 0;
      let retries = 0;
      const r = await onlyA.requestWithRetry("POST", "busy", { q: 1 }, { retries: 5, backoff: 0.01, onRetry: () => retries++ });
      assert.equal(r.status, 200);
      assert.equal(retries, 2);
      assert.equal(seen[0]!.auth, `Basic ${Buffer.from("u:p").toString("base64")}`);
      onlyA.close();
      await assert.rejects(new ElasticSearchClient({ urls: [goneUrl] }).requestWithRetry("GET", "z", undefined, { retries: 2, backoff: 0.01 }), ElasticSearchNetworkError);
    } finally {
      client.close();
      await a.close();
      await b.close();
    }
  });

  test("both basic auth and an API key is an error", () => {
    assert.throws(() => new ElasticSearchClient({ urls: ["http://x/"], username: "u", apiKey: "k" }), /either/);
  });
});

test("TLS: refused without the CA, accepted with the CA file, or with verify off", async () => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, readFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const https = await import("node:https");
  const dir = mkdtempSync(join(tmpdir(), "es-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  const cert = readFileSync(join(dir, "cert.pem"));
  const s = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (_req, res) => res.end('{"tls":true}'));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const url = `https://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  try {
    await assert.rejects(new ElasticSearchClient({ urls: [url] }).json("GET", ""), /self-signed|certificate/);
    assert.deepEqual(await new ElasticSearchClient({ urls: [url], ca: cert }).json("GET", ""), { tls: true });
    assert.deepEqual(await new ElasticSearchClient({ urls: [url], verify: false }).json("GET", ""), { tls: true });
  } finally {
    s.closeAllConnections();
    s.close();
  }
});
