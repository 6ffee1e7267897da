#!/usr/bin/env node
/**
 * bselastic: index maintenance for Elasticsearch/OpenSearch (BSPump's `bselastic`).
 *
 *   bselastic load_index_template DIR URL
 *   bselastic cleanup|reopen|close|delete URL [--min-date D] [--max-date D] [--exclude PREFIX] [--index PATTERN]
 *   bselastic force-merge URL --index NAME
 *
 * Every command takes `--dry-run` (list what would change, change nothing) and `--help`.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { runCommandLine } from "./commandLine.js";
import { isMainModule } from "./isMainModule.js";
import { Command, CommanderError, Option } from "commander";
import { ElasticSearchClient, ElasticSearchHttpError } from "../elasticsearch/ElasticSearchClient.js";

export interface BselasticIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

interface ConnectOptions {
  username?: string;
  password?: string;
  apiKey?: string;
  cafile?: string;
  insecure?: boolean;
  dryRun?: boolean;
}

interface RangeOptions extends ConnectOptions {
  minDate: string;
  maxDate: string;
  exclude: string[];
  index: string;
  timestampField: string;
}

interface CatIndex {
  index: string;
  status: string;
  health: string;
  "docs.count": string | null;
}

const TEMPLATE_FILE = "es_index_template.json";

function client(url: string, o: ConnectOptions): ElasticSearchClient {
  return new ElasticSearchClient({
    urls: [url],
    username: o.username,
    password: o.password,
    apiKey: o.apiKey,
    ca: o.cafile ? readFileSync(o.cafile) : undefined,
    verify: !o.insecure,
    timeout: 120,
  });
}

// ------------------------------------------------------------------------- load_index_template

/** Removes `//` and `/* *\/` comments outside JSON strings (BSPump's regex also cut `//` inside strings, e.g. URLs). */
export function stripJsonComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function findTemplates(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name === TEMPLATE_FILE) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** Composable templates (`_index_template`) have `template`, `composed_of`, `priority` or `data_stream`; legacy ones do not. */
export function templateKind(body: Record<string, unknown>): "composable" | "legacy" {
  return "template" in body || "composed_of" in body || "priority" in body || "data_stream" in body ? "composable" : "legacy";
}

async function loadIndexTemplate(dir: string, url: string, o: ConnectOptions & { kind: string }, io: BselasticIO): Promise<number> {
  const files = findTemplates(dir);
  if (files.length === 0) {
    io.err(`No ${TEMPLATE_FILE} found under ${dir}`);
    return 1;
  }
  const es = client(url, o);
  let failed = 0;
  try {
    for (const file of files) {
      let body: Record<string, unknown>;
      try {
        const parsed = JSON.parse(stripJsonComments(readFileSync(file, "utf8"))) as unknown;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
        body = parsed as Record<string, unknown>;
      } catch (e) {
        io.err(`${file}: cannot parse: ${(e as Error).message}; skipped`);
        failed++;
        continue;
      }
      const name = body["!deploy_to"];
      if (typeof name !== "string" || name === "") {
        io.err(`${file}: the key "!deploy_to" (the template name) is missing; skipped`);
        failed++;
        continue;
      }
      delete body["!deploy_to"];
      const kind = o.kind === "auto" ? templateKind(body) : o.kind;
      const path = `${kind === "composable" ? "_index_template" : "_template"}/${encodeURIComponent(name)}`;
      if (o.dryRun) {
        io.out(`would PUT ${path} (${kind} template from ${file})`);
        continue;
      }
      const res = await es.request("PUT", path, body);
      io.out(`PUT ${path} (${file}): ${res.status} ${res.body.toString("utf8")}`);
      if (res.status < 200 || res.status >= 300) failed++;
    }
  } finally {
    es.close();
  }
  return failed > 0 ? 1 : 0;
}

// ------------------------------------------------------------------------- the date-range commands

function parseDay(value: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value) throw new CommanderError(1, "bselastic.date", `${what} must be a date YYYY-MM-DD, got '${value}'`);
  return t;
}

/** The window `[min-date 00:00, max-date + 1 day)` in ms (UTC). */
export function dateRange(minDate: string, maxDate: string): [number, number] {
  const min = parseDay(minDate, "--min-date");
  const max = parseDay(maxDate, "--max-date") + 86_400_000;
  if (!(min < max)) throw new CommanderError(1, "bselastic.range", `--min-date (${minDate}) must not be after --max-date (${maxDate})`);
  return [min, max];
}

/** Sort key: the text after the last underscore (usually a date or sequence suffix). */
function suffix(name: string): string {
  const at = name.lastIndexOf("_");
  return at < 0 ? name : name.slice(at + 1);
}

class RangeJob {
  readonly es: ElasticSearchClient;
  readonly range: [number, number];

  constructor(
    url: string,
    readonly o: RangeOptions,
    readonly io: BselasticIO,
  ) {
    this.range = dateRange(o.minDate, o.maxDate);
    this.es = client(url, o);
  }

  async indices(): Promise<CatIndex[]> {
    const list = await this.es.json<CatIndex[]>("GET", `_cat/indices/${encodeURIComponent(this.o.index)}?format=json&h=index,status,health,docs.count&expand_wildcards=all`);
    return list
      .filter((i) => !i.index.startsWith(".") && !this.o.exclude.some((p) => i.index.startsWith(p)))
      .sort((a, b) => (suffix(a.index) < suffix(b.index) ? -1 : suffix(a.index) > suffix(b.index) ? 1 : a.index < b.index ? -1 : 1));
  }

  /** Min and max of the timestamp field (ms), null when the index has none; retried. */
  async span(index: string, attempts = 5): Promise<[number, number] | null> {
    const field = this.o.timestampField;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.es.json<{ aggregations: { min: { value: number | null }; max: { value: number | null } } }>("POST", `${encodeURIComponent(index)}/_search?size=0`, {
          aggs: { min: { min: { field } }, max: { max: { field } } },
        });
        const { min, max } = r.aggregations;
        return min.value === null || max.value === null ? null : [min.value, max.value];
      } catch (e) {
        if (attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  inRange(span: [number, number] | null): boolean {
    return span !== null && span[0] >= this.range[0] && span[1] < this.range[1];
  }

  describeSpan(span: [number, number] | null): string {
    return span === null ? `no ${this.o.timestampField}` : `${new Date(span[0]).toISOString()} .. ${new Date(span[1]).toISOString()}`;
  }

  async act(what: "close" | "open" | "delete", index: string): Promise<void> {
    const path = what === "delete" ? encodeURIComponent(index) : `${encodeURIComponent(index)}/_${what}`;
    const r = await this.es.json<{ acknowledged?: boolean }>(what === "delete" ? "DELETE" : "POST", path);
    if (r.acknowledged !== true) throw new Error(`${what} of ${index} was not acknowledged: ${JSON.stringify(r)}`);
    if (what === "open") {
      await this.es.json("GET", `_cluster/health/${encodeURIComponent(index)}?wait_for_status=yellow&timeout=60s`);
    }
  }

  /** Runs `fn` per index, reporting (not throwing) per-index errors. */
  async each(list: CatIndex[], fn: (i: CatIndex) => Promise<void>): Promise<number> {
    let errors = 0;
    for (const i of list) {
      try {
        await fn(i);
      } catch (e) {
        errors++;
        const msg = e instanceof ElasticSearchHttpError ? `${e.status} ${e.body.slice(0, 300)}` : (e as Error).message;
        this.io.err(`${i.index}: ${msg} (${JSON.stringify(i)})`);
      }
    }
    return errors;
  }

  verb(what: string, index: string, why: string): string {
    return `${this.o.dryRun ? `would ${what}` : what} ${index} (${why})`;
  }
}

async function cleanup(job: RangeJob): Promise<number> {
  const list = await job.indices();
  let nonGreen = 0;
  let closed = 0;
  let empty = 0;
  const errors = await job.each(list, async (i) => {
    if (i.status !== "open") return;
    if (i.health !== "green") {
      nonGreen++;
      return;
    }
    if (Number(i["docs.count"] ?? "0") === 0) {
      job.io.out(job.verb("delete", i.index, "empty"));
      if (!job.o.dryRun) await job.act("delete", i.index);
      empty++; // BSPump always reported 0 here [BUG]
      return;
    }
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("close", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("close", i.index);
      closed++;
    }
  });
  job.io.out(`Total: ${list.length}, closed (old): ${closed}, not green: ${nonGreen}, deleted (empty): ${empty}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function reopen(job: RangeJob): Promise<number> {
  // BSPump called COMMAND_reopen with one argument too few, so this command crashed [BUG].
  const list = await job.indices();
  const closedList = list.filter((i) => i.status === "close");
  let reopened = 0;
  const errors = await job.each(closedList, async (i) => {
    if (job.o.dryRun) {
      job.io.out(`would open ${i.index} to read its ${job.o.timestampField} span, and keep it open if it is in range`);
      return;
    }
    await job.act("open", i.index);
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(`open ${i.index} (${job.describeSpan(span)})`);
      reopened++;
    } else {
      await job.act("close", i.index);
    }
  });
  job.io.out(`Total: ${list.length}, closed: ${closedList.length}, reopened: ${reopened}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function close(job: RangeJob): Promise<number> {
  const list = await job.indices();
  const candidates = list.filter((i) => i.status === "open" && (i.health === "green" || i.health === "yellow"));
  let closed = 0;
  const errors = await job.each(candidates, async (i) => {
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("close", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("close", i.index);
      closed++;
    }
  });
  job.io.out(`Total: ${list.length}, open: ${candidates.length}, closed: ${closed}, remain open: ${candidates.length - closed}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function del(job: RangeJob): Promise<number> {
  const list = await job.indices();
  let deleted = 0;
  const errors = await job.each(list, async (i) => {
    const wasClosed = i.status === "close";
    if (wasClosed && job.o.dryRun) {
      job.io.out(`would open ${i.index} temporarily to read its ${job.o.timestampField} span, and delete it if it is in range`);
      return;
    }
    if (wasClosed) await job.act("open", i.index);
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("delete", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("delete", i.index);
      deleted++;
    } else if (wasClosed) {
      await job.act("close", i.index);
    }
  });
  job.io.out(`Original: ${list.length}, deleted: ${deleted}, remaining: ${list.length - deleted}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

// ------------------------------------------------------------------------- force-merge

async function forceMerge(url: string, o: ConnectOptions & { index: string }, io: BselasticIO): Promise<number> {
  if (o.dryRun) {
    io.out(`would set index.blocks.write=true on ${o.index} and force-merge it to 1 segment`);
    return 0;
  }
  const es = client(url, o);
  try {
    const r = await es.json<{ acknowledged?: boolean }>("PUT", `${encodeURIComponent(o.index)}/_settings`, { "index.blocks.write": true });
    if (r.acknowledged !== true) {
      io.err(`Setting index.blocks.write on ${o.index} was not acknowledged: ${JSON.stringify(r)}`);
      return 1;
    }
    const merged = await es.json("POST", `${encodeURIComponent(o.index)}/_forcemerge?max_num_segments=1`);
    io.out(JSON.stringify(merged));
    return 0;
  } finally {
    es.close();
  }
}

// ------------------------------------------------------------------------- the program

function connectOptions(cmd: Command): Command {
  return cmd
    .option("--username <user>", "basic auth user")
    .option("--password <password>", "basic auth password")
    .option("--api-key <key>", "API key (Authorization: ApiKey)")
    .option("--cafile <file>", "PEM CA file for https:// URLs")
    .option("--insecure", "do not verify the server certificate")
    .option("--dry-run", "list what would change, change nothing");
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Runs bselastic with `argv` (without `node` and the script); resolves with the exit code. */
export async function runBselastic(argv: readonly string[], io: BselasticIO = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  let exitCode = 0;
  const program = new Command("bselastic")
    .description("Index maintenance for Elasticsearch/OpenSearch")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();

  connectOptions(
    program
      .command("load_index_template")
      .summary("load index templates from a directory")
      .description(`PUT every ${TEMPLATE_FILE} under DIR as an index template named by its "!deploy_to" key`)
      .argument("<dir>", "directory searched recursively")
      .argument("<url>", "Elasticsearch URL, e.g. http://localhost:9200/")
      .addOption(new Option("--kind <kind>", "composable (_index_template), legacy (_template), or auto (by the body's keys)").choices(["auto", "composable", "legacy"]).default("auto")),
  ).action(async (dir: string, url: string, o: ConnectOptions & { kind: string }) => {
    exitCode = await loadIndexTemplate(dir, url, o, io);
  });

  connectOptions(
    program
      .command("force-merge")
      .summary("make an index read-only and merge it to one segment")
      .description("Sets index.blocks.write=true on the index, then force-merges it to a single segment")
      .argument("<url>", "Elasticsearch URL, e.g. http://localhost:9200/")
      .requiredOption("--index <name>", "the index"),
  ).action(async (url: string, o: ConnectOptions & { index: string }) => {
    exitCode = await forceMerge(url, o, io);
  });

  const rangeCommands: [string, string, (job: RangeJob) => Promise<number>][] = [
    ["cleanup", "for green open indices: delete empty ones, close those whose time span is in the range", cleanup],
    ["reopen", "open closed indices whose time span is in the range", reopen],
    ["close", "close open indices whose time span is in the range", close],
    ["delete", "delete indices (open or closed) whose time span is in the range", del],
  ];
  for (const [name, description, fn] of rangeCommands) {
    connectOptions(
      program
        .command(name)
        .summary(description)
        .description(`${description}; the range is [--min-date, --max-date + 1 day), UTC, and an index is in it when all its documents are`)
        .argument("<url>", "Elasticsearch URL, e.g. http://localhost:9200/")
        .option("--min-date <date>", "first day of the range, YYYY-MM-DD", "1970-01-01")
        .option("--max-date <date>", "last day of the range, YYYY-MM-DD", "1970-01-01")
        .option("--exclude <prefix>", "skip indices whose name starts with this (repeatable)", collect, [] as string[])
        .option("--index <pattern>", "only indices matching this pattern", "*")
        .option("--timestamp-field <field>", "the time field of the documents", "@timestamp"),
    ).action(async (url: string, o: RangeOptions) => {
      const job = new RangeJob(url, o, io);
      try {
        exitCode = await fn(job);
      } finally {
        job.es.close();
      }
    });
  }

  if (argv.length === 0) {
    io.err("bselastic: give a command (load_index_template, cleanup, reopen, close, delete, force-merge); see bselastic --help");
    return 1;
  }
  return (await runCommandLine(program, argv, "bselastic", (line) => io.err(line))) ?? exitCode;
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await runBselastic(process.argv.slice(2));
}
