/**
 * GeoIP enrichment benchmark: a pipeline (source → GeoIPEnricher → counting sink) over 1,000,000
 * events with 100,000 distinct addresses, against a plain loop calling the same mmdb reader and
 * building the same output, in one run. The city database (100,000 /24 networks) is generated
 * at run time by test/lookup/fixtures/make-mmdb.pl (Debian libmaxmind-db-writer-perl).
 *
 *   node --import tsx bench/geoip.ts [events] [distinct]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CityResponse } from "maxmind";
import { BSPumpApplication, Config, Pipeline, Sink, Source, type EventContext } from "../src/core/index.js";
import { GeoIPEnricher } from "../src/lookup/index.js";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const DISTINCT = Number(process.argv[3] ?? 100_000);
const NETWORKS = 100_000;

const dir = mkdtempSync(join(tmpdir(), "bspump-geoip-bench-"));
const script = fileURLToPath(new URL("../test/lookup/fixtures/make-mmdb.pl", import.meta.url));
execFileSync("perl", [script, dir, "--bench", String(NETWORKS)], { stdio: "inherit" });
const dbPath = join(dir, "bench-city.mmdb");

// Distinct addresses spread over the generated networks (11.0.0.0 – 12.134.159.255); 5% unknown.
const addresses: string[] = [];
for (let i = 0; i < DISTINCT; i++) {
  if (i % 20 === 19) {
    addresses.push(`203.0.${(i >> 8) & 255}.${i & 255}`);
    continue;
  }
  const net = Math.floor((i * 7919) % NETWORKS);
  const a = 11 + Math.floor(net / 65536);
  addresses.push(`${a}.${Math.floor(net / 256) % 256}.${net % 256}.${(i % 250) + 1}`);
}

class BenchSource extends Source {
  async main(): Promise<void> {
    const n = addresses.length;
    for (let i = 0; i < EVENTS; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process({ ip: addresses[i % n] });
    }
  }
}

class CountSink extends Sink {
  count = 0;
  enriched = 0;
  done: () => void = () => {};
  process(_c: EventContext, event: unknown): null {
    if ((event as { geo?: unknown }).geo !== undefined) this.enriched++;
    if (++this.count === EVENTS) this.done();
    return null;
  }
}

async function runPipeline(): Promise<{ seconds: number; enriched: number }> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[logging]\nlevel=error\n", "<bench>"), handleSignals: false });
  const pipeline = new Pipeline(app, "GeoIPBench");
  const sink = new CountSink(app, pipeline);
  const enricher = new GeoIPEnricher(app, pipeline, { config: { db_path: dbPath, asn_field: "", as_org_field: "" } });
  const finished = new Promise<void>((resolve) => (sink.done = resolve));
  let start = 0n;
  app.pubsub.subscribe("Application.run!", () => (start = process.hrtime.bigint()));
  pipeline.build(new BenchSource(app, pipeline), enricher, sink);
  app.pumpService.addPipeline(pipeline);
  const run = app.run();
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  app.stop();
  await run;
  return { seconds, enriched: sink.enriched };
}

function runPlainLoop(reader: GeoIPEnricher["cityReader"]): { seconds: number; enriched: number } {
  const n = addresses.length;
  let enriched = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const event: Record<string, unknown> = { ip: addresses[i % n] };
    const r = reader!.get(event.ip as string) as CityResponse | null;
    if (r !== null) {
      const geo: Record<string, unknown> = {};
      if (r.country?.iso_code !== undefined) geo.country_code = r.country.iso_code;
      if (r.city?.names !== undefined) geo.city_name = (r.city.names as unknown as Record<string, string>).en;
      if (r.location?.latitude !== undefined) geo.location = { lat: r.location.latitude, lon: r.location.longitude };
      event.geo = geo;
      enriched++;
    }
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, enriched };
}

// The plain loop uses the very reader the enricher opened.
const probeApp = new BSPumpApplication({ args: [], config: Config.fromString("", "<probe>"), handleSignals: false });
const reader = new GeoIPEnricher(probeApp, new Pipeline(probeApp, "Probe"), { config: { db_path: dbPath } }).cityReader;

const rounds = 3;
const plain: number[] = [];
const piped: number[] = [];
for (let r = 0; r < rounds; r++) {
  const a = runPlainLoop(reader);
  const b = await runPipeline();
  if (a.enriched !== b.enriched) throw new Error(`outputs differ: plain ${a.enriched} vs pipeline ${b.enriched}`);
  plain.push(EVENTS / a.seconds);
  piped.push(EVENTS / b.seconds);
  console.log(`round ${r + 1}: plain ${Math.round(EVENTS / a.seconds).toLocaleString()} ev/s, pipeline ${Math.round(EVENTS / b.seconds).toLocaleString()} ev/s (${a.enriched.toLocaleString()} enriched)`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const p = median(plain);
const q = median(piped);
console.log(`GeoIP enrichment, ${EVENTS.toLocaleString()} events, ${DISTINCT.toLocaleString()} distinct addresses, ${NETWORKS.toLocaleString()} networks`);
console.log(`median plain loop ${Math.round(p).toLocaleString()} ev/s, pipeline ${Math.round(q).toLocaleString()} ev/s, ratio ${(q / p).toFixed(2)} (target >= 0.8)`);
