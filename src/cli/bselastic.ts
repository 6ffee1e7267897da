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
import { runCommandLine } from "./commandLine.js";
import { esClient, esConnectOptions, type EsConnectOptions } from "./esConnectOptions.js";
import { isMainModule } from "./isMainModule.js";
import { terminalIO } from "./progress.js";
import { Command, Option } from "commander";
import { forceMerge, type AdminOutput } from "../elasticsearch/admin.js";
import { maintainDatedIndices, type DatedIndexOptions, type DatedIndexTask } from "../elasticsearch/datedIndices.js";
import { loadIndexTemplates, TEMPLATE_FILE, type TemplateKindOption } from "../elasticsearch/templates.js";

/** Where bselastic prints (stdout and stderr by default; tests collect the lines). */
export type BselasticIO = AdminOutput;

interface ConnectOptions extends EsConnectOptions {
  dryRun?: boolean;
}

const client = esClient;

function connectOptions(cmd: Command): Command {
  return esConnectOptions(cmd).option("--dry-run", "list what would change, change nothing");
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
  ).action(async (dir: string, url: string, o: ConnectOptions & { kind: TemplateKindOption }) => {
    exitCode = await loadIndexTemplates(() => client(url, o), dir, o, io);
  });

  connectOptions(
    program
      .command("force-merge")
      .summary("make an index read-only and merge it to one segment")
      .description("Sets index.blocks.write=true on the index, then force-merges it to a single segment")
      .argument("<url>", "Elasticsearch URL, e.g. http://localhost:9200/")
      .requiredOption("--index <name>", "the index"),
  ).action(async (url: string, o: ConnectOptions & { index: string }) => {
    exitCode = await forceMerge(() => client(url, o), o.index, o, io);
  });

  const rangeCommands: [DatedIndexTask, string][] = [
    ["cleanup", "for green open indices: delete empty ones, close those whose time span is in the range"],
    ["reopen", "open closed indices whose time span is in the range"],
    ["close", "close open indices whose time span is in the range"],
    ["delete", "delete indices (open or closed) whose time span is in the range"],
  ];
  for (const [name, description] of rangeCommands) {
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
    ).action(async (url: string, o: ConnectOptions & DatedIndexOptions) => {
      exitCode = await maintainDatedIndices(name, () => client(url, o), o, io);
    });
  }

  if (argv.length === 0) {
    io.err("bselastic: give a command (load_index_template, cleanup, reopen, close, delete, force-merge); see bselastic --help");
    return 1;
  }
  return (await runCommandLine(program, argv, "bselastic", (line) => io.err(line))) ?? exitCode;
}

if (isMainModule(import.meta.url)) {
  // On a terminal, a task over many indices shows indices done of total and the ETA on stderr.
  const { io, finish } = terminalIO(`bselastic ${process.argv[2] ?? ""}`.trim(), "indices");
  try {
    process.exitCode = await runBselastic(process.argv.slice(2), io);
  } finally {
    finish();
  }
}
