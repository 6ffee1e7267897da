/**
 * Index templates kept as files (BSPump's `bselastic load_index_template`): every
 * `es_index_template.json` under a directory, JSON with comments, named by its `"!deploy_to"` key.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AdminOutput, Connect } from "./admin.js";

/** The file name of a template. */
export const TEMPLATE_FILE = "es_index_template.json";

/** `auto`: by the body's keys (templateKind); else the kind to load every template as. */
export type TemplateKindOption = "auto" | "composable" | "legacy";

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

/** Every template file under `dir`, in name order. */
export function findTemplates(dir: string): string[] {
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

/**
 * PUTs every template file under `dir` (see findTemplates); a file that cannot be read or has no
 * name is reported and skipped. Returns the exit status: 1 when none was found or any failed.
 */
export async function loadIndexTemplates(connect: Connect, dir: string, o: { kind: TemplateKindOption; dryRun?: boolean }, io: AdminOutput): Promise<number> {
  const files = findTemplates(dir);
  if (files.length === 0) {
    io.err(`No ${TEMPLATE_FILE} found under ${dir}`);
    return 1;
  }
  const es = connect();
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
