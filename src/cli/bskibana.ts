#!/usr/bin/env node
/**
 * bskibana: manages a Kibana Object Library and the `.kibana` / `.x-lff-lookup` indexes of
 * Elasticsearch/OpenSearch (BSPump's `bskibana`, spec §3.2).
 *
 *   bskibana [--verbose] [--silent] export URL FILE
 *   bskibana import FILE URL [--index NAME] [--lookup-index NAME] [--dry-run]
 *   bskibana decompile FILE|URL DIR [DIR ...] [--csv FILE]
 *   bskibana compile DIR [DIR ...] [--output FILE] [--index-pattern P1,P2]
 *   bskibana rename DIR [DIR ...] [--index-pattern ID] [--new-id NEWID]
 *   bskibana document DIR [DIR ...] --template-dir DIR [--output OUT]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { runCommandLine } from "./commandLine.js";
import { isMainModule } from "./isMainModule.js";
import { terminalIO } from "./progress.js";
import { Command } from "commander";
import { KIBANA_INDEXES, importHits, importTarget, readKibana, type Printer } from "../kibana/client.js";
import { document } from "../kibana/document.js";
import { compile, formatCompiled, writeAtomic } from "../kibana/compile.js";
import { decompile, decompileLog } from "../kibana/decompile.js";
import { loadLibrary, type KibanaHit } from "../kibana/library.js";
import { rename } from "../kibana/rename.js";

export interface BskibanaIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Objects read of total while reading from Elasticsearch (export, decompile from a URL). */
  progress?: (done: number, total: number) => void;
}

function readCompiled(file: string): KibanaHit[] {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${file}: a JSON array of Kibana objects expected`);
  return parsed as KibanaHit[];
}

const isUrl = (s: string): boolean => s.startsWith("http://") || s.startsWith("https://");
const collect = (value: string, previous: string[]): string[] => [...previous, value];
const splitList = (v: string): string[] => v.split(",").map((s) => s.trim()).filter((s) => s !== "");

/** Runs bskibana with `argv` (without `node` and the script); resolves with the exit code. */
export async function runBskibana(argv: readonly string[], io: BskibanaIO = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  let exitCode = 0;
  const program = new Command("bskibana")
    .description("Manage a Kibana Object Library and the Kibana index in Elasticsearch/OpenSearch")
    .option("-v, --verbose", "be verbose in the output")
    .option("-s, --silent", "don't print anything but errors")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Example:
  bskibana export http://localhost:9200/ /tmp/kibana.json
  bskibana decompile /tmp/kibana.json ./library/
  bskibana compile ./library/ -o /tmp/kibana.json
  bskibana import /tmp/kibana.json http://localhost:9200/`,
    );

  const printer = (): Printer => {
    const g = program.opts<{ verbose?: boolean; silent?: boolean }>();
    return { level: g.silent ? -1 : g.verbose ? 1 : 0, out: io.out, err: io.err, progress: g.silent ? undefined : io.progress };
  };

  program
    .command("export")
    .summary("export the Kibana indexes to a file")
    .description(`Reads ${KIBANA_INDEXES.join(" and ")} (an index that is not there is left out) into a JSON array of hits`)
    .argument("<url>", "Elasticsearch/OpenSearch URL, e.g. http://localhost:9200/")
    .argument("<file>", "the file to write")
    .option("--index <name>", `read this index instead of ${KIBANA_INDEXES.join(", ")} (repeatable)`, collect, [] as string[])
    .action(async (url: string, file: string, o: { index: string[] }) => {
      const p = printer();
      const hits = await readKibana(url, o.index.length > 0 ? o.index : KIBANA_INDEXES, p);
      writeAtomic(file, formatCompiled(hits));
      if (p.level >= 1) for (const h of hits) p.out(`${h._id} exported`);
      if (p.level >= 0) p.out(`${hits.length} objects exported from Kibana index ${url}`);
    });

  program
    .command("import")
    .summary("import a compiled or exported file into Elasticsearch")
    .description("Bulk-indexes every object into its own _index (saved objects into .kibana, lookups into .x-lff-lookup)")
    .argument("<file>", "a compiled or exported file")
    .argument("<url>", "Elasticsearch/OpenSearch URL")
    .option("--index <name>", "index for the saved objects instead of their _index, e.g. .kibana_4")
    .option("--lookup-index <name>", "index for the lookup objects instead of their _index (.x-lff-lookup)")
    .option("--dry-run", "print what would be imported, send nothing")
    .action(async (file: string, url: string, o: { index?: string; lookupIndex?: string; dryRun?: boolean }) => {
      const p = printer();
      const hits = readCompiled(file);
      if (o.dryRun) {
        for (const h of hits) p.out(`would import ${h._id} into ${importTarget(h, o)}`);
        p.out(`${hits.length} objects would be imported into ${url}`);
        return;
      }
      const r = await importHits(url, hits, o);
      if (r.status !== 200) {
        p.err(`Error ${r.status} when importing Kibana index into ${url}\n${r.text}`);
        exitCode = 1;
        return;
      }
      if (!r.ok) {
        p.err("Error(s) during Kibana index import:");
        for (const i of r.failed) p.err(JSON.stringify(i));
        exitCode = 1;
        return;
      }
      if (p.level >= 1) for (const i of r.items) p.out(`${i.index._id} imported`);
      if (p.level >= 0) p.out(`Kibana index with ${r.items.length} objects imported into ${url}`);
    });

  program
    .command("decompile")
    .summary("split a compiled file (or a live Elasticsearch) into the library")
    .description("New objects go to <first DIR>/new/, updated ones stay where they are in the library")
    .argument("<file>", "a compiled or exported file, or an http(s):// Elasticsearch URL")
    .argument("<dirs...>", "library directories")
    .option("-c, --csv <file>", "write a tab-separated line per object: status, type, id, title, directory, file")
    .option("--index <name>", "with a URL: read this index instead of the Kibana ones (repeatable)", collect, [] as string[])
    .action(async (file: string, dirs: string[], o: { csv?: string; index: string[] }) => {
      const p = printer();
      const hits = isUrl(file) ? await readKibana(file, o.index.length > 0 ? o.index : KIBANA_INDEXES, p) : readCompiled(file);
      const r = decompile(hits, dirs, p);
      if (o.csv !== undefined) writeFileSync(o.csv, decompileLog(r.entries));
    });

  program
    .command("compile")
    .summary("compile the library into a file for import")
    .argument("<dirs...>", "library directories")
    .option("-o, --output <file>", "the file to write", "out.json")
    .option("-i, --index-pattern <patterns>", "only objects related to these index patterns (comma-separated titles; _* is appended)")
    .action((dirs: string[], o: { output: string; indexPattern?: string }) => {
      const p = printer();
      const library = loadLibrary(dirs, p);
      const r = compile(library, { indexPatterns: o.indexPattern === undefined ? undefined : splitList(o.indexPattern) }, p);
      writeAtomic(o.output, formatCompiled(r.hits));
      if (p.level >= 0) p.out(`${r.hits.length} Kibana objects compiled into ${o.output}`);
    });

  program
    .command("rename")
    .summary("give index patterns readable ids from their titles and fix every reference")
    .argument("<dirs...>", "library directories")
    .option("-i, --index-pattern <id>", "rename only this index pattern (default: all)")
    .option("-o, --new-id <newid>", "its new id (default: its title without leading/trailing _ and *)")
    .action((dirs: string[], o: { indexPattern?: string; newId?: string }) => {
      const r = rename(dirs, o, printer());
      if (r.errors.length > 0) exitCode = 1;
    });

  program
    .command("document")
    .summary("generate Markdown documentation of the library")
    .description("Renders <object>.md next to an object file, else <type>.md, else object.md, and index.md (nunjucks/Jinja2 templates)")
    .argument("<dirs...>", "library directories")
    .requiredOption("-t, --template-dir <dir>", "the directory with the templates")
    .option("-o, --output <dir>", "where to write the pages", "doc")
    .option("-i, --index-pattern <patterns>", "accepted and ignored, as in BSPump")
    .action((dirs: string[], o: { templateDir: string; output: string }) => {
      document(dirs, { templateDir: o.templateDir, output: o.output }, printer());
    });

  if (argv.length === 0) {
    io.err("bskibana: give a command (export, import, decompile, compile, rename, document); see bskibana --help");
    return 1;
  }
  return (await runCommandLine(program, argv, "bskibana", (line) => io.err(line))) ?? exitCode;
}

if (isMainModule(import.meta.url)) {
  // On a terminal, reading from Elasticsearch shows objects read of total and the ETA on stderr.
  const { io, finish } = terminalIO("bskibana", "objects");
  try {
    process.exitCode = await runBskibana(process.argv.slice(2), io);
  } finally {
    finish();
  }
}
