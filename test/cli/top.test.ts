import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BSPumpApplication, Config, PeriodicTrigger, Pipeline, Sink, TriggerSource, type EventContext } from "../../src/core/index.js";
import { WebService } from "../../src/web/index.js";
import "../../src/web/index.js";

// `bspump top` as a user runs it: the built CLI, in a pseudo-terminal made by script(1) (its screen
// read back from script's output), and through a pipe (plain output).

const CLI = fileURLToPath(new URL("../../dist/src/cli/bspump.js", import.meta.url));

class Ticks extends TriggerSource {
  async cycle(): Promise<void> {
    for (let i = 0; i < 20; i++) this.pipeline.process({ i });
  }
}

class FailOnce extends Sink {
  failed = false;
  process(_context: EventContext, _event: unknown): null {
    if (!this.failed) {
      this.failed = true;
      throw new Error("first event refused \x1b[2J\x1b[31m");
    }
    return null;
  }
}

async function startPump(): Promise<{ web: WebService; stop: () => Promise<number> }> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[web]\nlisten = 127.0.0.1:0\n", "<top test>"), handleSignals: false });
  app.logs.writer = () => {};
  for (const id of ["Ingest", "Broken"]) {
    const p = new Pipeline(app, id);
    p.build(new Ticks(app, p).on(new PeriodicTrigger(app, 0.05)), id === "Broken" ? new FailOnce(app, p) : new NullishSink(app, p));
    app.pumpService.addPipeline(p);
  }
  const started = new Promise<void>((resolve) => app.pubsub.subscribe("Application.run!", () => resolve()));
  const running = app.run();
  await started;
  return { web: app.getService<WebService>("bspump.WebService"), stop: () => (app.stop(), running) };
}

class NullishSink extends Sink {
  process(): null {
    return null;
  }
}

function run(command: string, args: string[], until: (out: string) => boolean, input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let sent = false;
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`timed out; output so far:\n${out}`))), 30_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      if (!sent && input !== undefined && until(out)) {
        sent = true;
        child.stdin.write(input);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test("bspump top in a terminal: redraws in place with both pipelines and the error, quits on q and restores the screen", async () => {
  const { web, stop } = await startPump();
  try {
    const command = `node ${CLI} top ${web.url} --interval 0.2`;
    const redraws = (out: string) => out.split("\x1b[H\x1b[2J").length - 1;
    const { code, out } = await run("script", ["-qfec", command, "/dev/null"], (o) => redraws(o) >= 3 && /Broken\s+ERROR/.test(o), "q");
    assert.equal(code, 0, out);
    assert.ok(redraws(out) >= 3, "the screen is redrawn in place");
    assert.match(out, /\x1b\[\?1049h/, "uses the alternate screen");
    assert.match(out, /\x1b\[\?1049l/, "and leaves it on quit");
    assert.match(out, /PIPELINE\s+STATE\s+IN\/S\s+OUT\/S/);
    assert.match(out, /Ingest\s+ready/);
    assert.match(out, /Broken\s+ERROR/);
    assert.match(out, /Broken: first event refused \?\[2J\?\[31m/, "control characters from the pump are shown as ?, not obeyed");
  } finally {
    await stop();
  }
});

test("bspump top through a pipe prints one plain snapshot; an unreachable pump is exit 1", async () => {
  const { web, stop } = await startPump();
  try {
    const { code, out } = await run("node", [CLI, "top", web.url], () => false);
    assert.equal(code, 0);
    assert.equal(/\x1b/.test(out), false, "no escape sequences in plain output");
    assert.match(out, /^bspump top — /);
    assert.match(out, /Ingest\s+(ready|throttled)/);
  } finally {
    await stop();
  }
  const down = await run("node", [CLI, "top", "http://127.0.0.1:9"], () => false);
  assert.equal(down.code, 1);
});
