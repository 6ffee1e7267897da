import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, Pipeline, RunOnceTrigger, Sink, type EventContext, type ProcessorBase, type Source, type Trigger } from "../../src/core/index.js";

export async function tempDir(prefix = "bspump-file-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function makeApp(config = ""): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(config, "<test>"), handleSignals: false });
}

/** Keeps what it receives. */
export class CollectSink extends Sink {
  readonly events: unknown[] = [];
  readonly contexts: EventContext[] = [];
  process(context: EventContext, event: unknown): null {
    this.events.push(event);
    this.contexts.push(context);
    return null;
  }
}

/** Counts what it receives. */
export class CountSink extends Sink {
  count = 0;
  process(): null {
    this.count++;
    return null;
  }
}

/**
 * Runs one pipeline with `source` (on a RunOnceTrigger unless it has triggers) until the app stops,
 * with a timeout.
 */
export async function runOnce(
  app: BSPumpApplication,
  pipeline: Pipeline,
  source: Source,
  processors: ProcessorBase[],
  options: { trigger?: Trigger; timeoutSeconds?: number } = {},
): Promise<void> {
  pipeline.build(source, ...processors);
  if ("on" in source && typeof (source as { on?: unknown }).on === "function") {
    (source as unknown as { on(t: Trigger): void }).on(options.trigger ?? new RunOnceTrigger(app));
  }
  app.pumpService.addPipeline(pipeline);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      app.run(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("pipeline did not finish")), (options.timeoutSeconds ?? 30) * 1000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the app in the background; returns a function that stops it and waits for the end. */
export function startApp(app: BSPumpApplication): { stop: () => Promise<void> } {
  const running = app.run();
  return {
    stop: async () => {
      app.stop();
      await running;
    },
  };
}

/** Fires one cycle of a trigger source and waits for it to end. */
export async function cycleOnce(pipeline: Pipeline, source: { fire(): void }): Promise<void> {
  const done = new Promise<void>((resolve) => {
    const on = () => {
      pipeline.pubsub.unsubscribe("bspump.pipeline.cycle_end!", on);
      resolve();
    };
    pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", on);
  });
  source.fire();
  await done;
}

/** Waits until `check()` is true (polling), or fails after `seconds`. */
export async function until(check: () => boolean | Promise<boolean>, seconds = 20): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
