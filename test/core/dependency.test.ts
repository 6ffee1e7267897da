import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

/** Runs `script` (ESM, from the project root) in a fresh Node with tsx; returns its stdout. */
function runFresh(script: string): string {
  return execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: new URL("../..", import.meta.url), encoding: "utf8" });
}

const CLIENT_LIBRARIES = ["kafkajs", "mysql2", "amqplib", "fast-xml-parser", "maxmind", "csv-parse", "yaml", "nunjucks"];

const loadedLibraries = `
  import { createRequire } from "node:module";
  const loaded = () => [...new Set(Object.keys(createRequire(import.meta.url).cache)
    .map((path) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(path)?.[1]).filter(Boolean))].sort();
`;

test("importing bspump loads no connector's client library; a component loads its own when it is made", () => {
  const out = runFresh(`
    ${loadedLibraries}
    const bspump = await import("./src/index.ts");
    const before = loaded();
    const app = new bspump.BSPumpApplication({ args: [], handleSignals: false });
    const pipeline = new bspump.Pipeline(app, "P");
    new bspump.xml.XMLParserProcessor(app, pipeline);
    console.log(JSON.stringify({ before, after: loaded() }));
  `);
  const { before, after } = JSON.parse(out.trim().split("\n").pop()!) as { before: string[]; after: string[] };
  for (const name of CLIENT_LIBRARIES) assert.ok(!before.includes(name), `${name} was loaded by import * as bspump (loaded: ${before.join(", ")})`);
  assert.ok(after.includes("fast-xml-parser"), `XMLParserProcessor did not load fast-xml-parser (loaded: ${after.join(", ")})`);
  assert.ok(!after.includes("kafkajs"));
});
