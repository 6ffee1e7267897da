#!/usr/bin/env node
/**
 * bsintegrity: checks the hash chain of events stored by IntegrityEnricher in an
 * Elasticsearch/OpenSearch index (BSPump's `bsintegrity`, spec §3.4).
 *
 *   bsintegrity check URL INDEX [--items_size 100] [--scroll 1] [--algorithm SHA256] [--prev_hash_key _prev_id] [--hash_key _id]
 *
 * It scrolls the whole index, recomputes each document's hash with the enricher's algorithm
 * (src/integrity/integrityHash.ts) from the stored JSON text — read in document order with numbers
 * as written, so a chain made by BSPump verifies — and follows the `prev → id` links. With the
 * default `hash_key` `_id` the hash is the document id (the Elasticsearch sink takes `_id` out of
 * the event). Exit status: 0 intact, 1 broken hashes or chain breaks found, 2 the check could not run.
 */
import { Command, InvalidArgumentError } from "commander";
import { runCommandLine } from "./commandLine.js";
import { esClient, esConnectOptions, type EsConnectOptions } from "./esConnectOptions.js";
import { isMainModule } from "./isMainModule.js";
import { ElasticSearchClient, ElasticSearchHttpError } from "../elasticsearch/ElasticSearchClient.js";
import { describeFinding, dumpsOrdered, IntegrityChainCheck, integrityDigest, OrderedObject, parseOrdered, type ChainReport, type OrderedValue } from "../integrity/index.js";

export interface BsintegrityIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress, overwritten in place (a terminal's stderr by default; tests leave it out). */
  progress?: (done: number, total: number) => void;
}

export interface CheckOptions extends EsConnectOptions {
  items_size: number;
  scroll: number;
  algorithm: string;
  prev_hash_key: string;
  hash_key: string;
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive integer expected");
  return n;
};

async function rawJson(es: ElasticSearchClient, method: string, path: string, body?: object): Promise<OrderedObject> {
  const res = await es.request(method, path, body);
  const text = res.body.toString("utf8");
  if (res.status < 200 || res.status >= 300) throw new ElasticSearchHttpError(method, path, res.status, text);
  const value = parseOrdered(text);
  if (!(value instanceof OrderedObject)) throw new Error(`${method} ${path}: a JSON object expected`);
  return value;
}

const str = (v: OrderedValue | undefined): string | null => (typeof v === "string" ? v : null);

/** Scrolls `index` and checks every document; the report of what was found. */
export async function checkIndex(es: ElasticSearchClient, index: string, o: CheckOptions, io: BsintegrityIO): Promise<ChainReport> {
  const digest = integrityDigest(o.algorithm, "--algorithm");
  const check = new IntegrityChainCheck();
  const path = encodeURIComponent(index);
  const total = Number((await es.json<{ count?: number }>("GET", `${path}/_count`)).count ?? 0);
  const scroll = `${o.scroll}m`;
  let page = await rawJson(es, "POST", `${path}/_search?scroll=${scroll}`, { size: o.items_size, sort: ["_doc"] });
  let scrollId = str(page.get("_scroll_id"));
  let done = 0;
  try {
    for (;;) {
      const hits = (page.get("hits") as OrderedObject | undefined)?.get("hits");
      if (!Array.isArray(hits) || hits.length === 0) break;
      for (const hit of hits) {
        if (!(hit instanceof OrderedObject)) continue;
        const source = hit.get("_source");
        if (!(source instanceof OrderedObject)) throw new Error(`document ${String(str(hit.get("_id")))} has no _source (is _source disabled in the mapping?)`);
        const id = str(source.get(o.hash_key)) ?? (o.hash_key === "_id" ? str(hit.get("_id")) : null);
        if (id === null) {
          io.out(`no hash: document ${String(str(hit.get("_id")))} has no '${o.hash_key}'`);
          continue;
        }
        check.add(id, str(source.get(o.prev_hash_key)), digest(dumpsOrdered(source, o.hash_key)));
      }
      done += hits.length;
      io.progress?.(done, total);
      if (scrollId === null) break;
      page = await rawJson(es, "POST", "_search/scroll", { scroll, scroll_id: scrollId });
      scrollId = str(page.get("_scroll_id")) ?? scrollId;
    }
  } finally {
    if (scrollId !== null) await es.request("DELETE", "_search/scroll", { scroll_id: scrollId }).catch(() => undefined);
  }
  return check.finish();
}

function terminalProgress(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => process.stderr.write(`\r${done}/${total} documents${done >= total ? "\n" : ""}`);
}

/** Runs bsintegrity with `argv` (without `node` and the script); resolves with the exit code. */
export async function runBsintegrity(argv: readonly string[], io: BsintegrityIO = { out: (l) => console.log(l), err: (l) => console.error(l), progress: terminalProgress() }): Promise<number> {
  let exitCode = 0;
  const program = new Command("bsintegrity")
    .description("Checks the hash chain of events stored by IntegrityEnricher")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();

  esConnectOptions(
    program
      .command("check")
      .summary("verify every document's hash and the chain links of an index")
      .argument("<url>", "Elasticsearch URL, e.g. http://localhost:9200/")
      .argument("<index>", "index (or pattern) to check")
      .option("--items_size <n>", "documents per scroll page", positiveInt, 100)
      .option("--scroll <minutes>", "scroll keep-alive in minutes", positiveInt, 1)
      .option("--algorithm <name>", "hash algorithm (Python hashlib name)", "SHA256")
      .option("--prev_hash_key <key>", "field with the previous event's hash", "_prev_id")
      .option("--hash_key <key>", "field with the event's hash; _id: the document id when the field is not stored", "_id")
  ).action(async (url: string, index: string, o: CheckOptions) => {
      const es = esClient(url, o);
      try {
        const report = await checkIndex(es, index, o, io);
        for (const f of report.findings) io.out(describeFinding(f, o.prev_hash_key));
        const broken = report.findings.length;
        io.out(`${index}: ${report.documents} documents, ${report.chains} chain(s), ${broken === 0 ? "intact" : `${broken} finding(s)`}`);
        exitCode = broken === 0 ? 0 : 1;
      } catch (e) {
        io.err(`bsintegrity: ${(e as Error).message}`);
        exitCode = 2;
      } finally {
        es.close();
      }
    });

  if (argv.length === 0) {
    io.err("bsintegrity: give a command (check); see bsintegrity --help");
    return 2;
  }
  return (await runCommandLine(program, argv, "bsintegrity", (line) => io.err(line))) ?? exitCode;
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await runBsintegrity(process.argv.slice(2));
}
