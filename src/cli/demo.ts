/**
 * The demo pump: needs no server and no file of yours. It generates web-access events, parses,
 * enriches and filters them, branches server errors to a second pipeline that aggregates them, and
 * writes JSON lines to a folder — then prints what happened. `--serve` keeps it running with the
 * web API and dashboard.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BSPumpApplication,
  Config,
  PeriodicTrigger,
  Pipeline,
  Processor,
  PubSubTrigger,
  Sink,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type EventContext,
  type ConfigSpec,
  type TypedConfig,
} from "../core/index.js";
import { Aggregator, InternalSource, ListEventAggregationStrategy, RouterProcessor, StdJsonToDictParser } from "../common/index.js";
import { FileJSONSink } from "../file/index.js";
import { TimeWindowAnalyzer } from "../analyzer/index.js";
import { DictionaryLookup, LookupEnricher } from "../lookup/index.js";
import { makeRandom } from "../random/index.js";
import type { WebService } from "../web/index.js";

const ACTIONS = ["view", "click", "search", "buy", "login", "logout", "share", "noop"];
const TEAMS = ["red", "green", "blue", "gold"];

const CONFIG = {
  events_per_cycle: { type: "int", default: 100000, doc: "Lines generated per trigger cycle" },
  users: { type: "int", default: 1000, doc: "Distinct users" },
  seed: { type: "int", default: 42, doc: "Seed of the generator" },
} satisfies ConfigSpec;

/** Synthetic access-log lines (JSON text, as a log shipper would send them), repeatable by seed. */
class AccessLogSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly random: () => number;
  private clock = Date.UTC(2026, 10, 29, 12, 0, 0);

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.random = makeRandom(this.config.getInt("seed"));
  }

  async cycle(): Promise<void> {
    const users = this.config.getInt("users");
    const n = this.config.getInt("events_per_cycle");
    for (let i = 0; i < n; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.clock += Math.floor(this.random() * 20);
      const status = this.random() < 0.02 ? 503 : this.random() < 0.1 ? 404 : 200;
      const line = JSON.stringify({
        ts: new Date(this.clock).toISOString(),
        user: `user${Math.floor(this.random() * users)}`,
        ip: `10.${Math.floor(this.random() * 256)}.${Math.floor(this.random() * 256)}.${Math.floor(this.random() * 256)}`,
        action: ACTIONS[Math.floor(this.random() * ACTIONS.length)],
        status,
        bytes: Math.floor(this.random() * 200000),
        duration: Math.round(this.random() * 5000) / 10,
      });
      this.pipeline.process(line);
    }
  }
}

/** Adds kb = bytes / 1024 and drops "noop" actions. */
class EnrichProcessor extends Processor {
  process(_context: EventContext, event: Record<string, unknown>): unknown {
    if (event.action === "noop") return null;
    event.kb = (event.bytes as number) / 1024;
    return event;
  }
}

/** Sends a copy of each server error to the ServerErrors pipeline and passes every event on. */
class ServerErrorRouter extends RouterProcessor {
  process(context: EventContext, event: Record<string, unknown>): unknown {
    if ((event.status as number) >= 500) this.route(context, event, "ServerErrors.*InternalSource");
    return event;
  }
}

/** Prints one line per aggregate of server errors. */
class ErrorReportSink extends Sink {
  batches = 0;
  errors = 0;
  constructor(
    app: Application,
    pipeline: Pipeline,
    private readonly quiet: boolean,
    options: ComponentOptions = {},
  ) {
    super(app, pipeline, options);
  }
  process(_context: EventContext, batch: Record<string, unknown>[]): null {
    this.batches++;
    this.errors += batch.length;
    const users = new Set(batch.map((e) => e.user)).size;
    if (!this.quiet) process.stdout.write(`  alert: ${batch.length} server errors from ${users} users (last at ${String(batch.at(-1)?.ts)})\n`);
    return null;
  }
}

export interface DemoOptions {
  serve: boolean;
  outputDir?: string;
  listen?: string;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const outDir = options.outputDir ?? mkdtempSync(join(tmpdir(), "bspump-demo-"));
  const config = Config.fromString(
    [
      "[logging]",
      "level = warn",
      "[pipeline:AccessLog:AccessLogSource]",
      `events_per_cycle = ${options.serve ? 2000 : 100000}`,
      "[pipeline:AccessLog:FileJSONSink]",
      `path = ${join(outDir, "access.jsonl")}`,
      "[pipeline:ServerErrors:InternalSource]",
      "queue_max_size = 1000",
      "[pipeline:ServerErrors:Aggregator]",
      "completion_size = 500",
      "[lookup:Teams]",
      "use_cache = no",
      options.serve ? `[web]\nlisten = ${options.listen ?? "127.0.0.1:8080"}` : "",
    ].join("\n"),
    "<demo defaults>",
  );
  const app = new BSPumpApplication({ args: [], config });
  const svc = app.pumpService;

  const teams = new DictionaryLookup(app, "Teams");
  const assignment: Record<string, string> = {};
  for (let u = 0; u < 1000; u++) assignment[`user${u}`] = TEAMS[u % TEAMS.length]!;
  teams.replace(assignment);
  svc.addLookup(teams);

  const access = new Pipeline(app, "AccessLog");
  const source = new AccessLogSource(app, access);
  source.on(options.serve ? new PeriodicTrigger(app, 1) : new PubSubTrigger(app, "Application.run!"));
  access.build(
    source,
    new StdJsonToDictParser(app, access),
    new EnrichProcessor(app, access),
    new LookupEnricher(app, access, { lookup: "Teams", config: { key_field: "user", target_field: "team" } }),
    // Served, the dashboard draws its window as a heatmap: events per team and 5 s.
    ...(options.serve ? [new TimeWindowAnalyzer(app, access, { id: "TeamsPerWindow", config: { time_source: "clock", dimension_attr: "team", resolution: 5, columns: 12, emit: "none" } })] : []),
    new ServerErrorRouter(app, access),
    new FileJSONSink(app, access),
  );

  const errors = new Pipeline(app, "ServerErrors");
  const report = new ErrorReportSink(app, errors, options.serve);
  errors.build(
    new InternalSource(app, errors),
    new Aggregator(app, errors, { aggregationStrategy: new ListEventAggregationStrategy() }),
    report,
  );
  svc.addPipelines(access, errors);

  const started = performance.now();
  if (!options.serve) {
    // One cycle, then a graceful stop: sinks flush, receipts settle.
    access.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
    process.stdout.write(`bspump demo: generating ${config.get("pipeline:AccessLog:AccessLogSource", "events_per_cycle")} access-log events…\n`);
  } else {
    // The address the server really has: `-w 18085` means 127.0.0.1:18085, and port 0 a free port.
    app.pubsub.subscribe("Application.run!", () => {
      const web = app.getService<WebService>("bspump.WebService");
      process.stdout.write(`bspump demo: serving the dashboard on ${web.url}/ — Ctrl-C to stop\n`);
    });
  }
  const code = await app.run();
  const seconds = (performance.now() - started) / 1000;

  process.stdout.write("\n  pipeline       in        out       drop      warnings  errors\n");
  for (const p of [access, errors]) {
    process.stdout.write(`  ${p.id.padEnd(14)} ${String(p.eventIn).padEnd(9)} ${String(p.eventOut).padEnd(9)} ${String(p.eventDrop).padEnd(9)} ${String(p.warnings).padEnd(9)} ${p.errors}\n`);
  }
  process.stdout.write(`\n  ${access.eventIn} events in ${seconds.toFixed(2)} s (${Math.round(access.eventIn / seconds)} events/s including start and stop)\n`);
  process.stdout.write(`  ${report.errors} server errors in ${report.batches} alerts; enriched events written to ${join(outDir, "access.jsonl")}\n`);
  return code;
}
