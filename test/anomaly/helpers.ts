import { BSPumpApplication, Config, Pipeline, type ProcessorBase } from "../../src/core/index.js";
import { InternalSource, NullSink } from "../../src/common/index.js";
import { AnomalyAnalyzer, AnomalyManager, type AnomalyManagerOptions } from "../../src/anomaly/index.js";
import { UnitTestSink } from "../../src/unittest/index.js";

export type R = Record<string, unknown>;

export interface Harness {
  app: BSPumpApplication;
  symptoms: Pipeline;
  input: InternalSource;
  manager: AnomalyManager;
  analyzer: AnomalyAnalyzer;
  stored: UnitTestSink | null;
  /** Sets the application clock. */
  at(t: number): void;
  /** Feeds symptoms and waits until the pipeline has processed them. */
  feed(...events: unknown[]): Promise<void>;
  /** Waits until `check` is true (fails after 20 s). */
  until(check: () => boolean, what: string): Promise<void>;
  stop(): Promise<number>;
}

/**
 * A running application: Symptoms (InternalSource → AnomalyAnalyzer → AnomalyManager → NullSink)
 * and, unless `storagePipeline` is false, AnomalyStoragePipeline (InternalSource → the given sink
 * or a UnitTestSink).
 */
export async function harness(
  ini: string,
  options: { managerOptions?: AnomalyManagerOptions; storagePipeline?: boolean; storageSink?: (app: BSPumpApplication, p: Pipeline) => ProcessorBase; prepare?: (app: BSPumpApplication) => void; waitReady?: boolean } = {},
): Promise<Harness> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<test config>"), handleSignals: false });
  if (!process.env.BSPUMP_TEST_LOGS) app.logs.writer = () => {};
  let now = 1_700_000_000;
  app.clock = () => now;
  options.prepare?.(app);
  const symptoms = new Pipeline(app, "Symptoms");
  const input = new InternalSource(app, symptoms, { id: "In" });
  const analyzer = new AnomalyAnalyzer(app, symptoms, { id: "Analyzer" });
  const manager = new AnomalyManager(app, symptoms, { id: "Manager", ...options.managerOptions });
  symptoms.build(input, analyzer, manager, new NullSink(app, symptoms));
  let stored: UnitTestSink | null = null;
  if (options.storagePipeline !== false) {
    const sp = new Pipeline(app, "AnomalyStoragePipeline");
    const sink = options.storageSink ? options.storageSink(app, sp) : (stored = new UnitTestSink(app, sp));
    sp.build(new InternalSource(app, sp, { id: "InternalSource" }), sink);
    app.pumpService.addPipeline(sp);
  }
  app.pumpService.addPipeline(symptoms);
  const running = app.run();
  const until = async (check: () => boolean, what: string): Promise<void> => {
    const t0 = Date.now();
    while (!check()) {
      if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await until(() => app.isRunning && (options.waitReady === false || symptoms.isReady()), "the application to run");
  let fed = 0;
  return {
    app,
    symptoms,
    input,
    manager,
    analyzer,
    stored,
    at: (t) => (now = t),
    feed: async (...events) => {
      for (const e of events) input.putEvenIfFull({}, e);
      fed += events.length;
      await until(() => symptoms.eventIn >= fed, "the symptoms to be processed");
    },
    until,
    stop: async () => {
      app.stop();
      return running;
    },
  };
}
