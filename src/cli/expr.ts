/**
 * `bspump expr`: evaluate a declaration on JSON events (from `--event` or stdin) and print its
 * optimized form and the results; and the declaration side of `bspump check`.
 */
import { readFileSync } from "node:fs";
import { BSPumpApplication, Config, ConfigError, type EventContext } from "../index.js";
import { declarationText, ExpressionBuilder, type Expression } from "../declarative/index.js";

export interface ExprFlags {
  event?: string;
  context?: string;
  /** Keyword arguments of the call (`!KWARG`, a FUNCTION's `arguments`). */
  kwargs?: string;
  library?: string;
  optimize: boolean;
  config?: string[];
}

/** JSON with bigints as numbers and sets as lists (what HASH and SET give). */
export function toJSON(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `\u0000big${v}` : v instanceof Set ? [...v] : v === undefined ? null : v));
  return (text ?? "null").replace(/"\\u0000big(-?\d+)"/g, "$1");
}

/** A declaration file (tagged YAML) rather than a pump definition: its first node has a `!TAG`. */
export function looksLikeDeclaration(text: string): boolean {
  const body = text.replace(/^(\s*#.*\n|\s*\n)*/, "").replace(/^(%.*\n)*---[ \t]*\n?/, "").replace(/^(\s*#.*\n|\s*\n)*/, "");
  return body.startsWith("!");
}

function builder(flags: { library?: string; config?: string[] }): ExpressionBuilder {
  const config = new Config();
  for (const file of flags.config ?? []) config.loadFile(file);
  const app = new BSPumpApplication({ args: [], config, handleSignals: false });
  app.logs.defaultLevel = "warn";
  return new ExpressionBuilder(app, flags.library ?? null);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The events: `--event`, else stdin as one JSON document or as JSON lines. */
async function events(flags: ExprFlags): Promise<unknown[]> {
  if (flags.event !== undefined) return [JSON.parse(flags.event)];
  if (process.stdin.isTTY) return [{}];
  const text = await readStdin();
  if (!text.trim()) return [{}];
  try {
    return [JSON.parse(text)];
  } catch {
    return text.split("\n").filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (e) {
        throw new Error(`stdin line ${i + 1}: not JSON: ${(e as Error).message}`);
      }
    });
  }
}

/** `--context` / `--kwargs`: a JSON object, or a ConfigError naming the option (one line, exit 2). */
function jsonObject(option: string, text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${option}: not JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`${option}: expected a JSON object, got ${text}`);
  return value as Record<string, unknown>;
}

export async function exprCommand(declaration: string, flags: ExprFlags): Promise<number> {
  const context: EventContext = jsonObject("--context", flags.context);
  const kwargs = jsonObject("--kwargs", flags.kwargs);
  const b = builder(flags);
  const { text, source } = declarationText(declaration, "<command line>");
  const exprs: Expression[] = b.parse(text, source, { optimize: flags.optimize });
  const out = process.stdout;
  out.write(`# ${flags.optimize ? "optimized" : "unoptimized"} form\n`);
  for (const e of exprs) out.write(`---\n${e.toString()}\n`);
  let failed = 0;
  out.write("# results\n");
  for (const event of await events(flags)) {
    let value: unknown = event;
    try {
      for (const e of exprs) {
        value = e.call({ ...context }, value, undefined, { ...kwargs });
        if (value === null) break;
      }
      out.write(`${toJSON(value)}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`bspump expr: ${(err as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `bspump check` on a declaration file: every error, one line each. */
export function checkDeclaration(file: string, flags: { library?: string; config?: string[] }): number {
  const errors = builder(flags).check(readFileSync(file, "utf8"), file);
  for (const e of errors) process.stderr.write(`bspump: declaration error: ${e.message}\n`);
  if (errors.length === 0) process.stdout.write(`${file}: OK (declaration)\n`);
  return errors.length > 0 ? 2 : 0;
}
