#!/usr/bin/env node
/**
 * The `bspump` command: run a pump from a YAML/JSON definition, check one without running it,
 * list the components and their configuration, or run the demo.
 */
import { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { BSPumpApplication, bspumpVersion, ConfigError, ConfigErrors } from "../index.js";
import { components, componentsMarkdown, configOf, PumpBuilder } from "../declarative/index.js";
import { runDemo } from "./demo.js";
import { runTop } from "./top.js";
import { runProgress } from "./runProgress.js";
import { checkDeclaration, exprCommand, looksLikeDeclaration } from "./expr.js";

interface AppFlags {
  config?: string[];
  webApi?: string;
  workers?: string;
  verbose?: boolean;
}

function appArgs(flags: AppFlags): string[] {
  const args: string[] = [];
  for (const c of flags.config ?? []) args.push("-c", c);
  if (flags.webApi) args.push("-w", flags.webApi);
  if (flags.workers !== undefined) args.push("--workers", flags.workers);
  if (flags.verbose) args.push("-v");
  return args;
}

async function build(definition: string, flags: AppFlags): Promise<BSPumpApplication> {
  const app = new BSPumpApplication({ args: appArgs(flags) });
  await PumpBuilder.fromFile(definition).constructPump(app);
  return app;
}

// `bspump components | head` closes the pipe early; that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

/** A readable file whose first node is a `!TAG` (unreadable ones go to PumpBuilder, which says why). */
function isDeclarationFile(path: string): boolean {
  try {
    return looksLikeDeclaration(readFileSync(path, "utf8"));
  } catch {
    return false;
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command()
  .name("bspump")
  .description("BSPump real-time stream processing for Node.js")
  .version(bspumpVersion(), "--version")
  .showHelpAfterError();

program
  .command("run")
  .description("build the pump described by a YAML/JSON file and run it until SIGINT/SIGTERM")
  .argument("<definition>", "pipeline definition (.yaml, .yml or .json)")
  .option("-c, --config <file>", "INI configuration (repeatable)", collect)
  .option("-w, --web-api <listen>", "serve the web API and dashboard ([host:]port)")
  .option("--workers <n>", "worker processes running the pipelines: a number, or 'auto' (one per core); sets [bspump] workers")
  .option("-v, --verbose", "debug logging")
  .action(async (definition: string, flags: AppFlags) => {
    const app = await build(definition, flags);
    const progress = runProgress(app);
    const code = await app.run();
    progress();
    process.exitCode = code;
    // A component that did not stop within stop_timeout may still be running (a read, a timer):
    // the process would go on without a pump, maybe at full CPU, until killed. Exit instead.
    if (app.stopTimedOut) process.exit(code);
  });

program
  .command("check")
  .description("validate a definition and its configuration (or a declaration file) without starting anything")
  .argument("<definition>", "pipeline definition (.yaml, .yml or .json), or a declaration (a YAML file of !TAG expressions)")
  .option("-c, --config <file>", "INI configuration (repeatable)", collect)
  .option("-l, --library <dir>", "declaration library folder (for a declaration's !INCLUDE)")
  .action(async (definition: string, flags: AppFlags & { library?: string }) => {
    if (isDeclarationFile(definition)) {
      process.exitCode = checkDeclaration(definition, flags);
      return;
    }
    const app = await build(definition, flags);
    // What run() would refuse before starting (a section for a pipeline that does not exist).
    const problems = app.configProblems();
    if (problems.length > 0) throw new ConfigErrors(problems);
    const pipelines = [...app.pumpService.pipelines.values()];
    process.stdout.write(`${definition}: OK (${pipelines.length} pipelines: ${pipelines.map((p) => p.id).join(", ")})\n`);
  });

program
  .command("expr")
  .description("evaluate a declaration on a JSON event (--event, or stdin: one JSON document or JSON lines); prints the optimized form and the results")
  .argument("<declaration>", "declaration text (starting with --- or !) or a .yaml/.yml file")
  .option("-e, --event <json>", "the event (default: stdin, or {} on a terminal)")
  .option("--context <json>", "the context dict", "{}")
  .option("--kwargs <json>", "keyword arguments of the call (!KWARG, a !FUNCTION's arguments)", "{}")
  .option("-l, --library <dir>", "declaration library folder (!INCLUDE)")
  .option("-c, --config <file>", "INI configuration (repeatable; [declarations] timezone)", collect)
  .option("--no-optimize", "show and run the unoptimized form")
  .action(async (declaration: string, flags: { event?: string; context: string; kwargs: string; library?: string; optimize: boolean; config?: string[] }) => {
    process.exitCode = await exprCommand(declaration, flags);
  });

program
  .command("components")
  .description("list the components the definition files can use, with their configuration")
  .option("--markdown [file]", "write the Markdown reference (to stdout, or to the file)")
  .action((flags: { markdown?: string | boolean }) => {
    if (flags.markdown !== undefined) {
      const md = componentsMarkdown();
      if (typeof flags.markdown === "string") writeFileSync(flags.markdown, md);
      else process.stdout.write(md);
      return;
    }
    for (const c of [...components().values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const keys = Object.keys(configOf(c));
      process.stdout.write(`${c.name.padEnd(44)} ${c.kind.padEnd(10)} ${keys.join(", ")}\n`);
    }
  });

program
  .command("demo")
  .description("run the demo pump (no servers needed)")
  .option("--serve", "keep running, with the web API and dashboard")
  .option("-w, --web-api <listen>", "where the dashboard listens with --serve", "127.0.0.1:8080")
  .option("-o, --output <dir>", "folder for the demo's output (default: a new temp folder)")
  .action(async (flags: { serve?: boolean; webApi: string; output?: string }) => {
    process.exitCode = await runDemo({ serve: flags.serve ?? false, listen: flags.webApi, outputDir: flags.output });
  });

program
  .command("top")
  .description("watch a running pump's pipelines (rates, states, errors) over its web API; q quits")
  .argument("[url]", "the pump's web API", "http://127.0.0.1:8080")
  .option("-i, --interval <seconds>", "refresh period", "1")
  .option("--token <token>", "web API token (default: env BSPUMP_WEB_TOKEN)")
  .action(async (url: string, flags: { interval: string; token?: string }) => {
    const intervalSeconds = Number(flags.interval);
    if (!(intervalSeconds >= 0.1)) throw new ConfigError(`--interval: '${flags.interval}' is not a number of seconds ≥ 0.1`);
    const token = flags.token ?? process.env.BSPUMP_WEB_TOKEN;
    process.exitCode = await runTop({ url, token, intervalSeconds, output: process.stdout, input: process.stdin });
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ConfigError) {
    // One line per error (a definition reports all of its errors at once).
    const messages = e instanceof ConfigErrors ? e.errors.map((x) => x.message) : [e.message];
    for (const message of messages) process.stderr.write(`bspump: configuration error: ${message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`bspump: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
