// The layering written out in docs/CONTRIBUTING.md ("Layout"), checked on every import in src/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const SRC = join(import.meta.dirname, "../../src");
const BASES = new Set(["common", "file", "lookup", "matrix", "codec"]);
const SURFACES = new Set(["web", "declarative", "cli", "unittest"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** May a file in folder `from` import folder `to` ("index" for src/index.ts)? */
function allowed(from: string, to: string): boolean {
  if (from === to || to === "core") return true;
  if (from === "core") return false;
  if (SURFACES.has(from)) return true;
  if (SURFACES.has(to)) return false;
  if (to === "index") return false;
  if (BASES.has(from)) return to === "codec";
  return BASES.has(to);
}

test("core imports no family; bases import core and codec; families import core and the bases; only surfaces import surfaces", () => {
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    if (!rel.includes("/")) continue; // src/index.ts exports every family
    const from = rel.split("/")[0]!;
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from\s+|import\()\s*"\.\.\/([^"]+)"/g)) {
      const target = m[1]!;
      const to = target.includes("/") ? target.split("/")[0]! : "index";
      if (!allowed(from, to)) wrong.push(`${rel} imports ../${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});
