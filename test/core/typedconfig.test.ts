import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline, Processor, type ConfigSpec, type EventContext, type TypedConfig } from "../../src/index.js";
import { FileLineSource } from "../../src/file/index.js";

// This file is type-checked by scripts/test (tsconfig.tests.json): each `@ts-expect-error` below
// must be a compile error, or the run fails. The runtime asserts check the same mistakes would
// also be refused by the getters themselves.

const CONFIG = {
  size: { type: "int", default: 10, doc: "a size" },
  ratio: { type: "float", default: 0.5, doc: "a ratio" },
  name: { type: "string", default: "x", doc: "a name" },
} satisfies ConfigSpec;

class Typed extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  process(_context: EventContext, event: unknown): unknown {
    return event;
  }
}

function build(): { typed: Typed; lines: FileLineSource } {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[pipeline:P:Typed]\nsize = 7\n", "app.conf"), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  return { typed: new Typed(app, pipeline), lines: new FileLineSource(app, pipeline, { config: { path: "/nonexistent/*.log" } }) };
}

test("typed config: declared keys read with their types; a typo or a getter of another type does not compile", () => {
  const { typed } = build();
  assert.equal(typed.config.getInt("size"), 7);
  assert.equal(typed.config.getFloat("ratio"), 0.5);
  assert.equal(typed.config.getFloat("size"), 7, "an int key reads as a float too");
  assert.equal(typed.config.getString("name"), "x");
  // @ts-expect-error a typo of a key
  assert.throws(() => typed.config.getInt("sise"), /'sise' is not declared/);
  // @ts-expect-error a string key read as an int
  void (() => typed.config.getInt("name"));
  // @ts-expect-error a float key read as an int
  void (() => typed.config.getInt("ratio"));
});

test("typed config: a family subclass reads its own keys and its parent's", () => {
  const { lines } = build();
  assert.equal(lines.config.getInt("max_line_length") > 0, true, "FileLineSource's own key");
  assert.equal(lines.config.getString("path"), "/nonexistent/*.log", "FileABCSource's key");
  // @ts-expect-error a key neither declares
  assert.throws(() => lines.config.getString("paht"), /'paht' is not declared/);
  // @ts-expect-error FileABCSource's string key read as a bool
  void (() => lines.config.getBool("path"));
});
