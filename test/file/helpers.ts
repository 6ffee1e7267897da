import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BSPumpApplication,
  Config,
  Pipeline,
  PubSubTrigger,
  RunOnceTrigger,
  Sink,
  type ProcessorBase,
  type Source,
  type Trigger,
  type TriggerSource,
} from "../../src/core/index.js";

export { CollectSink, until } from "../helpers/components.js";

export async function tempDir(prefix = "bspump-file-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a new temporary folder, which is removed afterwards whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const { dir, cleanup } = await tempDir(prefix);
  try {
    return await body(dir);
  } finally {
    await cleanup();
  }
}

export function makeApp(config = ""): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(config, "<test>"), handleSignals: false });
}

/** A new app (see makeApp) with an empty pipeline "P" in it. */
export function makePipeline(config = ""): { app: BSPumpApplication; pipeline: Pipeline } {
  const app = makeApp(config);
  return { app, pipeline: new Pipeline(app, "P") };
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

/**
 * Builds `pipeline` from `source` and `processors`, puts the source on a trigger that never fires by
 * itself (drive it with cycleOnce), adds the pipeline and starts the app in the background.
 */
export function startTriggered(app: BSPumpApplication, pipeline: Pipeline, source: TriggerSource, processors: ProcessorBase[]): { stop: () => Promise<void> } {
  pipeline.build(source, ...processors);
  source.on(new PubSubTrigger(app, "test.never!"));
  app.pumpService.addPipeline(pipeline);
  return startApp(app);
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
