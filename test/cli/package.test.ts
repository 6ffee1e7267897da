import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// The package as a user gets it: `npm pack` of this checkout (built by the test script), installed
// from the tarball into an empty project (dependencies from the npm registry; the optional Kafka
// client left out to keep the run short), then used through npx and from TypeScript.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sh(command: string, args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 300_000, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" } });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

test("npm pack → npm install into an empty project: npx bspump check and demo run, a strict TypeScript user of bspump and bspump/kafka type-checks", () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-pack-"));
  try {
    const packed = execFileSync("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    const tarball = join(dir, packed);
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
    assert.ok(files.includes("package/dist/src/index.js") && files.includes("package/dist/src/index.d.ts"));
    assert.ok(files.includes("package/LICENSE") && files.includes("package/CHANGELOG.md") && files.includes("package/src/file/openlease.c"));
    assert.ok(files.includes("package/src/kafka/kafka-javascript.patch"), "the Kafka client's patch, which scripts/build-native applies at install");
    assert.equal(files.some((f) => f.startsWith("package/test/") || f.startsWith("package/bench/") || f.startsWith("package/node_modules/")), false, "only what users need is packed");

    const app = join(dir, "app");
    execFileSync("mkdir", [app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "try-bspump", private: true, type: "module" }));
    const typescript = JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require('./package.json').devDependencies)"], { cwd: ROOT, encoding: "utf8" })) as Record<string, string>;
    const install = sh("npm", ["install", "--prefer-offline", "--omit=optional", tarball, `typescript@${typescript.typescript}`, `@types/node@${typescript["@types/node"]}`], app);
    assert.equal(install.code, 0, install.out);
    // The native open-file check is built at install (or one line says why not; both are fine).
    const native = existsSync(join(app, "node_modules/bspump/dist/native/openlease.node"));
    assert.ok(native || /native open-file check/.test(install.out), install.out);

    writeFileSync(join(app, "app.yaml"), "pipelines:\n  - id: Numbers\n    sources:\n      - class: random.RandomSource\n        config: {number: 10}\n    sink:\n      class: common.NullSink\n");
    const check = sh("npx", ["bspump", "check", "app.yaml"], app);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /app\.yaml: OK \(1 pipelines: Numbers\)/);
    const bad = sh("npx", ["bspump", "check", "missing.yaml"], app);
    assert.equal(bad.code, 2, bad.out);

    const demo = sh("npx", ["bspump", "demo"], app);
    assert.equal(demo.code, 0, demo.out);
    assert.match(demo.out, /100000 events in/);

    writeFileSync(join(app, "main.ts"), [
      'import * as bspump from "bspump";',
      'import { KafkaSource } from "bspump/kafka";',
      'import { FileLineSource } from "bspump/file";',
      "class Upper extends bspump.Processor {",
      "  process(_context: bspump.EventContext, event: unknown): unknown {",
      '    return typeof event === "string" ? event.toUpperCase() : event;',
      "  }",
      "}",
      "const app = new bspump.BSPumpApplication({ args: [] });",
      'const pipeline = new bspump.Pipeline(app, "P");',
      'pipeline.build(new FileLineSource(app, pipeline, { config: { path: "/tmp/*.txt" } }), new Upper(app, pipeline), new bspump.common.NullSink(app, pipeline));',
      "const kafkaSource: typeof KafkaSource = KafkaSource;",
      "console.log(kafkaSource.name, pipeline.id);",
      "",
    ].join("\n"));
    const tsc = sh("npx", ["tsc", "--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "main.ts"], app);
    assert.equal(tsc.code, 0, tsc.out);
    writeFileSync(join(app, "wrong.ts"), 'import { FileLineSource } from "bspump/file";\nconst x: number = FileLineSource;\n');
    const wrong = sh("npx", ["tsc", "--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "wrong.ts"], app);
    assert.notEqual(wrong.code, 0, "the types are real: a wrong use does not type-check");
    assert.ok(readdirSync(join(app, "node_modules/bspump/dist/src")).includes("kafka"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
