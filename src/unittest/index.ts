/**
 * Test helpers for pipelines and processors (BSPump's `bspump.unittest`): a fresh application per
 * run, one trigger cycle that feeds the given `(context, event)` pairs at start, then a graceful
 * stop; you get back what reached the sink, the pipeline (error state, metrics) and the app.
 */
import {
  BSPumpApplication,
  Config,
  Pipeline,
  Processor,
  PubSubTrigger,
  Sink,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type EventContext,
  type ProcessorBase,
} from "../core/index.js";

export type TestInput = readonly [EventContext | null, unknown];
export type TestOutput = [EventContext, unknown];

/** Feeds its `input` pairs, once, when the application runs. */
export class UnitTestSource extends TriggerSource {
  input: readonly TestInput[] = [];

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.on(new PubSubTrigger(app, "Application.run!"));
  }

  async cycle(): Promise<void> {
    for (const [context, event] of this.input) {
      // A hard error stops the pipeline; the rest of the input is not fed (as in BSPump).
      if (this.pipeline.isError()) return;
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(event, context === null ? undefined : { ...context });
    }
  }
}

/**
 * Passes every event on and keeps its `(context, event)`: placed in front of a sink under test, it
 * records what that sink was given.
 */
export class UnitTestRecorder extends Processor {
  readonly output: TestOutput[] = [];

  process(context: EventContext, event: unknown): unknown {
    this.output.push([context, event]);
    return event;
  }
}

/** Keeps every `(context, event)` it receives. */
export class UnitTestSink extends Sink {
  readonly output: TestOutput[] = [];

  process(context: EventContext, event: unknown): null {
    this.output.push([context, event]);
    return null;
  }
}

export interface RunOptions {
  /** INI text or a Config for the test application. */
  config?: string | Config;
  /** Fails the run if it has not finished by then (default 10 s). */
  timeoutSeconds?: number;
  /** Called with the application before it runs (register connections, lookups, more pipelines). */
  prepare?: (app: BSPumpApplication) => void;
}

export interface RunResult {
  output: TestOutput[];
  /** Just the events of `output`. */
  events: unknown[];
  pipeline: Pipeline;
  app: BSPumpApplication;
  exitCode: number;
}

function makeApp(config: string | Config | undefined): BSPumpApplication {
  const cfg = config instanceof Config ? config : Config.fromString(config ?? "", "<test config>");
  const app = new BSPumpApplication({ args: [], config: cfg, handleSignals: false });
  // Tests provoke errors on purpose; their logs stay in `pipeline.recentLogs` unless asked for.
  if (!process.env.BSPUMP_TEST_LOGS) app.logs.writer = () => {};
  return app;
}

/**
 * Runs a pipeline built by `build(app, pipeline)` (which must end in the given sink, usually a
 * UnitTestSink) on `input`, fed by a UnitTestSource.
 */
export async function runPipeline(
  input: readonly TestInput[],
  build: (app: BSPumpApplication, pipeline: Pipeline, source: UnitTestSource) => ProcessorBase[],
  options: RunOptions = {},
): Promise<RunResult> {
  const app = makeApp(options.config);
  const pipeline = new Pipeline(app, "UnitTestPipeline");
  const source = new UnitTestSource(app, pipeline);
  source.input = input;
  const processors = build(app, pipeline, source);
  pipeline.build(source, ...processors);
  options.prepare?.(app);
  app.pumpService.addPipeline(pipeline);
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  pipeline.pubsub.subscribe("bspump.pipeline.error!", () => app.stop());
  const exitCode = await withTimeout(app.run(), options.timeoutSeconds ?? 10);
  const sink = pipeline.sink;
  const recorder = pipeline.processors.at(-1)?.at(-2);
  const output = sink instanceof UnitTestSink ? sink.output : recorder instanceof UnitTestRecorder ? recorder.output : [];
  return { output, events: output.map(([, e]) => e), pipeline, app, exitCode };
}

/**
 * Runs one processor: `new ProcessorClass(app, pipeline, options)` between a UnitTestSource and a
 * UnitTestSink. A sink under test (BSPump's `set_up_processor(SomeSink)`) ends the pipeline itself;
 * `output` is then what reached it, recorded by a UnitTestRecorder in front of it.
 */
export async function runProcessor(
  ProcessorClass: new (app: Application, pipeline: Pipeline, options: never) => ProcessorBase,
  input: readonly TestInput[],
  /** The processor's options (`id`, `config`, and whatever else its constructor takes). */
  processorOptions: ComponentOptions & Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<RunResult & { processor: ProcessorBase }> {
  let processor: ProcessorBase | undefined;
  const result = await runPipeline(
    input,
    (app, pipeline) => {
      processor = new ProcessorClass(app, pipeline, processorOptions as never);
      if (processor instanceof Sink) return [new UnitTestRecorder(app, pipeline), processor];
      return [processor, new UnitTestSink(app, pipeline)];
    },
    options,
  );
  return { ...result, processor: processor! };
}

async function withTimeout<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Test pipeline did not finish within ${seconds} s`)), seconds * 1000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
