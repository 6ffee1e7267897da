import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError } from "./errors.js";

/** The command line every application takes (`-c`, `-w`, `--workers`, `-v`). */
export interface ParsedArgs {
  configFiles: string[];
  webApi: string | undefined;
  /** `--workers N|auto`: sets `[bspump] workers`. */
  workers: string | undefined;
  verbose: boolean;
  positionals: string[];
}

export const USAGE = `Usage: <app> [options]

Options:
  -c, --config FILE     INI configuration file (may be given more than once)
  -w, --web-api LISTEN  serve the web API and dashboard on LISTEN ([host:]port; 127.0.0.1 by default)
      --workers N       run N worker processes (or 'auto': one per core); sets [bspump] workers
  -v, --verbose         debug logging
  -h, --help            show this help
      --version         print the version
`;

/** The version of this package, read from its package.json. */
export function bspumpVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "bspump") return pkg.version ?? "devel";
    }
    dir = dirname(dir);
  }
  return "devel";
}

export function parseApplicationArgs(args: string[]): ParsedArgs & { help: boolean; version: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c", multiple: true },
        "web-api": { type: "string", short: "w" },
        workers: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  return {
    configFiles: v.config ?? [],
    webApi: v["web-api"],
    workers: v.workers,
    verbose: v.verbose ?? false,
    help: v.help ?? false,
    version: v.version ?? false,
    positionals: parsed.positionals,
  };
}
