import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, ConfigError, Pipeline, Processor, resolveConfig, type ConfigSpec, type EventContext } from "../../src/index.js";

test("INI parsing follows configparser: =, :, multi-line values, comments, ; inside values, case of keys", () => {
  const config = Config.fromString(
    [
      "# comment",
      "; another comment",
      "[connection:Kafka]",
      "bootstrap_servers = a:9092",
      "    b:9092",
      "",
      "    c:9092",
      "URL: http://x/?a=1;b=2",
      "empty =",
      "[DEFAULT]",
      "shared = yes",
    ].join("\n"),
    "test.conf",
  );
  assert.equal(config.get("connection:Kafka", "bootstrap_servers"), "a:9092\nb:9092\n\nc:9092");
  assert.equal(config.get("connection:Kafka", "url"), "http://x/?a=1;b=2");
  assert.equal(config.get("connection:Kafka", "empty"), "");
  assert.equal(config.get("connection:Kafka", "shared"), "yes");
  assert.equal(config.get("other", "shared"), "yes");
});

test("${VAR} is expanded from the environment, $$ is a literal $, an unset variable is an error naming the place", () => {
  const config = Config.fromString("[a]\nhost = ${HOST_X}:${PORT_X}\nprice = $$5\n", "env.conf", { HOST_X: "h", PORT_X: "1" });
  assert.equal(config.get("a", "host"), "h:1");
  assert.equal(config.get("a", "price"), "$5");
  assert.throws(() => Config.fromString("[a]\nhost = ${NOPE_X}\n", "env.conf", {}), (e: Error) => e instanceof ConfigError && /env\.conf:2.*host.*NOPE_X/.test(e.message));
});

test("malformed INI lines are errors with file and line", () => {
  assert.throws(() => Config.fromString("key = 1\n", "x.conf"), /x\.conf:1: .*before any \[section\]/);
  assert.throws(() => Config.fromString("[a]\njust words\n", "x.conf"), /x\.conf:2: expected 'key = value'/);
  assert.throws(() => Config.fromString("[a]\nk=1\n[a]\n", "x.conf"), /x\.conf:3: section \[a\] appears twice/);
});

test("include pulls in other files relative to the including one", () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-conf-"));
  writeFileSync(join(dir, "main.conf"), "[general]\ninclude = extra.conf\n[a]\nx = 1\n");
  writeFileSync(join(dir, "extra.conf"), "[b]\ny = 2\n");
  const config = new Config();
  config.loadFile(join(dir, "main.conf"));
  assert.equal(config.get("a", "x"), "1");
  assert.equal(config.get("b", "y"), "2");
});

class Configured extends Processor {
  static override ConfigDefaults: ConfigSpec = {
    size: { type: "int", default: 10, doc: "a size" },
    ratio: { type: "float", default: 0.5, doc: "a ratio" },
    flag: { type: "bool", default: false, doc: "a flag" },
    items: { type: "list", default: [] as string[], doc: "some items" },
    name: { type: "string", default: "x", doc: "a name", choices: ["x", "y"] },
  };
  process(_c: EventContext, e: unknown): unknown {
    return e;
  }
}

class Derived extends Configured {
  static override ConfigDefaults: ConfigSpec = {
    size: { type: "int", default: 20, doc: "a bigger size" },
    must: { type: "string", doc: "required thing", required: true },
  };
}

function appWith(ini: string): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(ini, "app.conf"), handleSignals: false });
}

test("config merges declared defaults (most-derived first) < INI section < constructor options, with types", () => {
  const app = appWith("[pipeline:P:D]\nratio = 0.25\nflag = yes\nitems = a\n  b, c\nmust = here\n");
  const p = new Pipeline(app, "P");
  const d = new Derived(app, p, { id: "D", config: { name: "y" } });
  assert.equal(d.config.getInt("size"), 20);
  assert.equal(d.config.getFloat("ratio"), 0.25);
  assert.equal(d.config.getBool("flag"), true);
  assert.deepEqual(d.config.getList("items"), ["a", "b", "c"]);
  assert.equal(d.config.getString("name"), "y");
  assert.equal(d.config.getString("must"), "here");
});

test("config errors name the file, line, section and key", () => {
  const p = (ini: string) => new Pipeline(appWith(ini), "P");
  assert.throws(() => new Derived(p("[pipeline:P:D]\nmust=1\nsizee = 3\n").app, p("[pipeline:P:D]\nmust=1\nsizee = 3\n"), { id: "D" }), (e: Error) => e instanceof ConfigError && /app\.conf:3: \[pipeline:P:D\] unknown key 'sizee'.*allowed keys: size, must, ratio/.test(e.message));
  const app = appWith("[pipeline:P:D]\nmust=1\nsize = ten\n");
  assert.throws(() => new Derived(app, new Pipeline(app, "P"), { id: "D" }), /app\.conf:3: \[pipeline:P:D\] key 'size': expected an integer, got "ten"/);
  const app2 = appWith("");
  assert.throws(() => new Derived(app2, new Pipeline(app2, "P"), { id: "D" }), /\[pipeline:P:D\] missing required key 'must'/);
  const app3 = appWith("[pipeline:P:D]\nmust=1\nname = z\n");
  assert.throws(() => new Derived(app3, new Pipeline(app3, "P"), { id: "D" }), /expected one of 'x', 'y'/);
  const app4 = appWith("[pipeline:P:D]\nmust=1\n");
  assert.throws(() => new Derived(app4, new Pipeline(app4, "P"), { id: "D", config: { nope: 1 } }), /constructor options: unknown config key 'nope'/);
});

test("resolveConfig masks secrets in toJSON", () => {
  class WithSecret extends Configured {
    static override ConfigDefaults: ConfigSpec = { password: { type: "string", default: "", doc: "pw", secret: true } };
  }
  const resolved = resolveConfig(WithSecret, Config.fromString("[s]\npassword = hunter2\n"), "s", undefined);
  assert.equal(resolved.getString("password"), "hunter2");
  assert.equal(resolved.toJSON().password, "***");
});
