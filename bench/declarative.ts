/**
 * Declarative parser benchmark: Apache combined log lines parsed into a dict by a declaration
 * (REGEX.PARSE with typed items, DATETIME.PARSE, a lookup, a WHEN dispatch on the status code, an
 * IN test) in a DeclarativeProcessor, against a hand-written TypeScript processor doing the same,
 * each in the same pipeline (source → processor → counting sink), interleaved in one run. The
 * outputs are compared first.
 *
 * With a Python that has the original BSPump (PyPI `bitswan`; bench/run passes its venv's), the
 * original's DeclarativeProcessor runs the same declaration on the same lines
 * (bench/original_declarative.py, its processor alone in a loop: an upper bound for it), its
 * outputs checked against the port's by a digest, and the ratio is printed too.
 *
 *   node --import tsx bench/declarative.ts [events] [rounds] [python]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, Pipeline, Processor, Sink, Source, type EventContext } from "../src/core/index.js";
import { DeclarativeProcessor } from "../src/declarative/index.js";
import { DictionaryLookup } from "../src/lookup/index.js";

const EVENTS = Number(process.argv[2] ?? 500_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const PYTHON = process.argv[4];
// The original is ~50 times slower: fewer events, the same lines.
const ORIGINAL_EVENTS = Math.min(EVENTS, 30_000);
const ORIGINAL_ROUNDS = 3;

// Written so that the original BSPump runs it too (bench/original_declarative.py): block style
// where an argument is `!ARG` (PyYAML, YAML 1.1, reads `!ARG,` in a flow mapping as the tag
// `!ARG,`), and the lookup in a second document on the parsed dict (the original's LOOKUP.GET
// passes no ARG to its key expression, so `!ITEM ARG client_ip` fails there).
export const DECLARATION = `---
!REGEX.PARSE
what: !EVENT
regex: '^(\\S+) \\S+ (\\S+) \\[([^\\]]+)\\] "(\\S+) (\\S+) (\\S+)" (\\d{3}) (\\d+|-) "([^"]*)" "([^"]*)"$'
items:
  - client_ip
  - user
  - '@timestamp': !DATETIME.PARSE
      what: !ARG
      format: '%d/%b/%Y:%H:%M:%S %z'
  - method
  - path
  - protocol
  - status: !CAST
      what: !ARG
      type: int
  - bytes: !CAST
      what: !ARG
      type: int
      default: 0
  - referrer
  - user_agent
set:
  status_class: !WHEN
    - test: !EQ [!ITEM ARG status, 200]
      then: ok
    - test: !EQ [!ITEM ARG status, 304]
      then: not modified
    - test: !EQ [!ITEM ARG status, 404]
      then: not found
    - test: !EQ [!ITEM ARG status, 500]
      then: server error
    - else: other
  known_method: !IN {what: !ITEM ARG method, where: [GET, POST, PUT, DELETE, HEAD]}
---
!DICT
with: !EVENT
set:
  country: !LOOKUP.GET {in: ClientCountry, what: !ITEM EVENT client_ip}
`;

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const LINE = /^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
const TIME = /^(\d{1,2})\/(\w{3})\/(\d{4}):(\d{1,2}):(\d{1,2}):(\d{1,2}) ([+-])(\d{2})(\d{2})$/;
const KNOWN = new Set(["GET", "POST", "PUT", "DELETE", "HEAD"]);

/** The same parser, written by hand. */
export class HandWrittenParser extends Processor {
  private lookup: DictionaryLookup | null = null;
  process(_context: EventContext, event: unknown): unknown {
    const m = LINE.exec(event as string);
    if (m === null) return null;
    const t = TIME.exec(m[3]!);
    let ts: number | null = null;
    if (t !== null && MONTHS[t[2]!] !== undefined) {
      const offset = (t[7] === "-" ? -1 : 1) * (Number(t[8]) * 3600 + Number(t[9]) * 60);
      ts = Date.UTC(Number(t[3]), MONTHS[t[2]!]!, Number(t[1]), Number(t[4]), Number(t[5]), Number(t[6])) / 1000 - offset;
    }
    const status = Number(m[7]);
    const bytes = m[8] === "-" ? 0 : Number(m[8]);
    const out: Record<string, unknown> = { client_ip: m[1], user: m[2] };
    if (ts !== null) out["@timestamp"] = ts;
    out.method = m[4];
    out.path = m[5];
    out.protocol = m[6];
    out.status = status;
    out.bytes = bytes;
    out.referrer = m[9];
    out.user_agent = m[10];
    out.status_class = status === 200 ? "ok" : status === 304 ? "not modified" : status === 404 ? "not found" : status === 500 ? "server error" : "other";
    out.known_method = KNOWN.has(m[4]!);
    this.lookup ??= this.app.pumpServiceOrNull()!.locateLookup("ClientCountry") as DictionaryLookup;
    const country = this.lookup.get(m[1]);
    if (country !== undefined && country !== null) out.country = country;
    return out;
  }
}

// 1,000 distinct clients, 70 % of them in the lookup; a mix of methods, statuses and sizes.
const IPS = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) % 250}`);
const STATUSES = [200, 200, 200, 200, 304, 404, 500, 301, 200, 403];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "HEAD", "OPTIONS"];
export const LINES = Array.from({ length: 10_000 }, (_, i) => {
  const ip = IPS[(i * 31) % IPS.length];
  const day = String(1 + (i % 28)).padStart(2, "0");
  const time = `${day}/${["Jan", "Mar", "Oct", "Dec"][i % 4]}/2024:${String(i % 24).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}:${String((i * 7) % 60).padStart(2, "0")} ${i % 3 === 0 ? "-0700" : "+0100"}`;
  const bytes = i % 17 === 0 ? "-" : String((i * 7919) % 100000);
  return `${ip} - ${i % 5 === 0 ? "frank" : "-"} [${time}] "${METHODS[i % METHODS.length]} /app/page${i % 100}?q=${i} HTTP/1.1" ${STATUSES[i % STATUSES.length]} ${bytes} "http://example.com/ref${i % 10}" "Mozilla/5.0 (X11; Linux x86_64) bench/${i % 3}"`;
});

class LineSource extends Source {
  async main(): Promise<void> {
    const n = LINES.length;
    for (let i = 0; i < EVENTS; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(LINES[i % n]);
    }
  }
}

class CountSink extends Sink {
  count = 0;
  statuses = 0;
  done: () => void = () => {};
  process(_c: EventContext, event: unknown): null {
    this.statuses += (event as { status: number }).status;
    if (++this.count === EVENTS) this.done();
    return null;
  }
}

const COUNTRIES = new Map<string, string>();
IPS.forEach((ip, i) => i % 10 < 7 && COUNTRIES.set(ip, ["CZ", "DE", "US", "FR"][i % 4]!));

function makeApp(): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[logging]\nlevel=error\n", "<bench>"), handleSignals: false });
  const lookup = new DictionaryLookup(app, "ClientCountry");
  for (const [ip, country] of COUNTRIES) lookup.dictionary.set(ip, country);
  app.pumpService.addLookup(lookup);
  return app;
}

async function run(kind: "declarative" | "hand"): Promise<{ seconds: number; cpu: number; statuses: number }> {
  const app = makeApp();
  const pipeline = new Pipeline(app, "Bench");
  const sink = new CountSink(app, pipeline);
  const processor = kind === "declarative" ? new DeclarativeProcessor(app, pipeline, { declaration: DECLARATION }) : new HandWrittenParser(app, pipeline);
  const finished = new Promise<void>((resolve) => (sink.done = resolve));
  let start = 0n;
  let cpu0 = process.cpuUsage();
  app.pubsub.subscribe("Application.run!", () => {
    start = process.hrtime.bigint();
    cpu0 = process.cpuUsage();
  });
  pipeline.build(new LineSource(app, pipeline), processor, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu0);
  app.stop();
  await running;
  return { seconds, cpu: (used.user + used.system) / 1e6, statuses: sink.statuses };
}

type Parsed = { status: number; bytes: number; "@timestamp": number; country?: string; status_class: string; known_method: boolean };

/** What bench/original_declarative.py computes from the original's outputs on LINES. */
function digest(outputs: Parsed[]): string {
  let status = 0;
  let bytes = 0;
  let timestamp = 0;
  for (const o of outputs) {
    status += o.status;
    bytes += o.bytes;
    timestamp += o["@timestamp"];
  }
  return JSON.stringify({
    status,
    bytes,
    timestamp: Math.round(timestamp),
    country: outputs.filter((o) => "country" in o).length,
    status_class: [...new Set(outputs.map((o) => o.status_class))].sort(),
    known_method: outputs.filter((o) => o.known_method).length,
  });
}

// The two must agree on every distinct line before anything is timed.
const PORT_DIGEST = ((): string => {
  const app = makeApp();
  const p = new Pipeline(app, "Check");
  const decl = new DeclarativeProcessor(app, p, { declaration: DECLARATION });
  const hand = new HandWrittenParser(app, p);
  const outputs: Parsed[] = [];
  for (const line of LINES) {
    const out = decl.process({}, line) as Parsed;
    const a = JSON.stringify(out);
    const b = JSON.stringify(hand.process({}, line));
    if (a !== b) throw new Error(`outputs differ for ${line}:\n declarative ${a}\n hand-written ${b}`);
    outputs.push(out);
  }
  return digest(outputs);
})();

// (Imported with 0 rounds, e.g. by a profiling script: only the declaration and the lines.)
if (ROUNDS > 0) await main();

async function main(): Promise<void> {
  // The machine is shared: wall time swings with the load, so the ratio is also given in CPU time
  // (user + system of this process; the run is single-threaded).
  const wall: number[] = [];
  const cpu: number[] = [];
  const portWall: number[] = [];
  const portCpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const hand = await run("hand");
    const decl = await run("declarative");
    if (hand.statuses !== decl.statuses) throw new Error("outputs differ");
    wall.push(hand.seconds / decl.seconds);
    cpu.push(hand.cpu / decl.cpu);
    portWall.push(EVENTS / decl.seconds);
    portCpu.push(EVENTS / decl.cpu);
    console.log(`round ${r + 1}: hand-written ${Math.round(EVENTS / hand.seconds).toLocaleString()} ev/s (${Math.round(EVENTS / hand.cpu).toLocaleString()} per CPU s), DeclarativeProcessor ${Math.round(EVENTS / decl.seconds).toLocaleString()} ev/s (${Math.round(EVENTS / decl.cpu).toLocaleString()} per CPU s)`);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = (xs: number[]): string => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `median ${median(xs).toFixed(2)} (min ${sorted[0]!.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)})`;
  };
  console.log(`Apache combined log parser, ${EVENTS.toLocaleString()} events × ${ROUNDS} rounds, DeclarativeProcessor / hand-written: wall ${summary(wall)}, CPU ${summary(cpu)}; target >= 0.8`);
  if (PYTHON) original(median(portWall), median(portCpu));
}

/** The original BSPump's DeclarativeProcessor on the same declaration and lines. */
function original(portWall: number, portCpu: number): void {
  const dir = mkdtempSync(join(tmpdir(), "bspump-d1-"));
  try {
    writeFileSync(join(dir, "declaration.yaml"), DECLARATION);
    writeFileSync(join(dir, "lines.txt"), LINES.join("\n"));
    writeFileSync(join(dir, "countries.json"), JSON.stringify(Object.fromEntries(COUNTRIES)));
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < ORIGINAL_ROUNDS; r++) {
      const script = new URL("original_declarative.py", import.meta.url).pathname;
      const out = execFileSync(PYTHON!, [script, "declaration.yaml", "lines.txt", "countries.json", String(ORIGINAL_EVENTS)], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      const result = JSON.parse(out.trim().split("\n").at(-1)!) as { events: number; seconds: number; cpu: number; check: unknown };
      if (JSON.stringify(result.check) !== PORT_DIGEST) throw new Error(`the original's outputs differ: ${JSON.stringify(result.check)} vs the port's ${PORT_DIGEST}`);
      wall.push(result.events / result.seconds);
      cpu.push(result.events / result.cpu);
      console.log(`original round ${r + 1}: ${Math.round(wall.at(-1)!).toLocaleString()} ev/s (${Math.round(cpu.at(-1)!).toLocaleString()} per CPU s), ${ORIGINAL_EVENTS.toLocaleString()} events, outputs agree`);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`Against the original BSPump (bitswan) DeclarativeProcessor on the same declaration: ${Math.round(median(wall)).toLocaleString()} ev/s (${Math.round(median(cpu)).toLocaleString()} per CPU s); the port in its pipeline ${Math.round(portWall).toLocaleString()} ev/s (${Math.round(portCpu).toLocaleString()} per CPU s): ${(portWall / median(wall)).toFixed(1)}× wall, ${(portCpu / median(cpu)).toFixed(1)}× CPU; expected >= 10×`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
