import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { completeLines } from "../helpers/lines.js";

/** The CLI as users run it (built by `npx tsc -p tsconfig.json`). */
export const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");

export interface Pump {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** The web API's URL, once the supervisor logged it. */
  url: () => Promise<string>;
}

/** Runs `node <args>` (a pump: the CLI or a script) and collects its log. */
export function startPump(args: string[], env: NodeJS.ProcessEnv = {}): Pump {
  // Its own process group, killed when the test process exits: a failed test leaves no pump (and its workers) running.
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, detached: true });
  process.on("exit", () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone already
    }
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  const url = async () => {
    await until(() => /Web API listening on (http:\/\/[^"\s]+)/.test(output), 150_000, "the web API");
    return /Web API listening on (http:\/\/[^"\s]+)/.exec(output)![1]!;
  };
  return { child, exited, output: () => output, url };
}

export async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `name{labels} value` lines of a Prometheus text, as a map from `name{labels}` to the value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Every line of the files in `dir` whose names start with `prefix`, counted. */
export function countLines(dir: string, prefix: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(dir)) return counts;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    for (const line of completeLines(join(dir, name))) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

/** The pids of the supervisor's worker processes (its children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
