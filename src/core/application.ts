import { bspumpVersion, parseApplicationArgs, USAGE, type ParsedArgs } from "./args.js";
import { Config, type ConfigSpec } from "./config.js";
import { checkSection } from "./resolve.js";
import { ConfigError, ConfigErrors, toError } from "./errors.js";
import { isLogLevel, LogManager, type Logger, type LogLevel } from "./logging.js";
import { MetricsService } from "./metrics.js";
import { PubSub } from "./pubsub.js";
import { PumpService } from "./service.js";
import { WorkerAgent } from "./workeragent.js";
import { WorkerSupervisor } from "./supervisor.js";
import { WORKER_ENV, workerIndex, workerSettings } from "./workers.js";

export { bspumpVersion, parseApplicationArgs, type ParsedArgs } from "./args.js";

/** A long-lived part of the application, initialised before it runs and finalised when it stops. */
export interface Service {
  initialize?(): Promise<void>;
  finalize?(): Promise<void>;
}

export interface ApplicationOptions {
  /** Command-line arguments; defaults to `process.argv.slice(2)`. Pass `[]` in tests. */
  args?: string[];
  /** A config to use instead of (or before) `-c` files: a path, or a Config object. */
  config?: string | Config;
  /** Environment for `${VAR}` expansion in config files. */
  env?: NodeJS.ProcessEnv;
  /** Install SIGINT/SIGTERM/SIGUSR1 handlers while running (default true). */
  handleSignals?: boolean;
}

/** The keys the application itself reads, checked when it is made (and so by `bspump check`). */
const GENERAL_KEYS: ConfigSpec = {
  stop_timeout: { type: "float", default: 30, doc: "Seconds a graceful stop may take", min: 0.001, max: 86400 },
};
const LOGGING_KEYS = {
  format: { type: "string", default: "", choices: ["json", "human"], doc: "Log line format; default: human on a terminal, else json" },
  level: { type: "string", default: "", choices: ["debug", "info", "warn", "error"], doc: "Default level (default info; -v: debug)" },
  levels: { type: "string", default: "", doc: "Per-logger levels: 'logger.name = level', one per line or comma-separated" },
} satisfies ConfigSpec;
const METRICS_KEYS: ConfigSpec = {
  interval: { type: "float", default: 60, doc: "Seconds between Metrics.flush! messages", min: 1, max: 86400 },
};

/**
 * Process lifecycle, configuration, services, PubSub and the clock (ASAB's Application).
 * `run()` initialises services, publishes `Application.run!`, ticks every second, and on stop
 * (SIGINT/SIGTERM or `stop()`) finalises gracefully within `[general] stop_timeout` seconds.
 */
export class Application {
  readonly config: Config;
  readonly args: ParsedArgs;
  readonly logs: LogManager;
  readonly log: Logger;
  readonly pubsub: PubSub;
  readonly metrics = new MetricsService();
  readonly services = new Map<string, Service>();
  readonly launchTime = Date.now() / 1000;
  /** The clock; replace it in tests to control time. Seconds since the epoch. */
  clock: () => number = () => Date.now() / 1000;

  private running = false;
  private stopRequested: ((code: number) => void) | null = null;
  private pendingStopCode: number | null = null;
  private readonly handleSignals: boolean;
  private readonly stopTimeoutSeconds: number;
  private readonly metricsIntervalSeconds: number;
  private gaveUpStopping = false;
  /**
   * A worker of a supervisor: SIGINT (a Ctrl-C reaches the whole process group) is left to the
   * supervisor, which stops the workers itself; a second signal would otherwise end them at once.
   */
  protected sigintFromSupervisor = false;

  constructor(options: ApplicationOptions = {}) {
    const parsed = parseApplicationArgs(options.args ?? process.argv.slice(2));
    if (parsed.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (parsed.version) {
      process.stdout.write(`bspump ${bspumpVersion()}\n`);
      process.exit(0);
    }
    this.args = parsed;
    this.handleSignals = options.handleSignals ?? true;
    // `${BSPUMP_WORKER}` in config files is the worker index: e.g. an output file per worker. One
    // process (and the supervisor, which runs no pipeline) is worker 0.
    const givenEnv = options.env ?? process.env;
    const env = givenEnv[WORKER_ENV] === undefined ? { ...givenEnv, [WORKER_ENV]: "0" } : givenEnv;
    if (options.config instanceof Config) {
      this.config = options.config;
    } else {
      this.config = new Config();
      if (options.config !== undefined) this.config.loadFile(options.config, env);
    }
    for (const file of parsed.configFiles) this.config.loadFile(file, env);
    if (parsed.webApi !== undefined) this.config.set("web", "listen", parsed.webApi);
    if (parsed.workers !== undefined) this.config.set("bspump", "workers", parsed.workers);
    this.stopTimeoutSeconds = checkSection(this.config, "general", GENERAL_KEYS).stop_timeout as number;
    this.metricsIntervalSeconds = Math.round(checkSection(this.config, "metrics", METRICS_KEYS).interval as number);

    const logging = checkSection(this.config, "logging", LOGGING_KEYS);
    this.logs = new LogManager(logging.format === "" ? undefined : (logging.format as "json" | "human"));
    this.configureLogLevels(parsed.verbose, logging.level as string, logging.levels as string);
    this.log = this.logs.logger("bspump.application");
    this.pubsub = new PubSub((message, error) => this.log.error(`Subscriber of '${message}' failed`, { error: toError(error) }));
  }

  /** `level` and `levels` as checked by LOGGING_KEYS ("" when not set). */
  private configureLogLevels(verbose: boolean, level: string, levels: string): void {
    this.logs.defaultLevel = verbose ? "debug" : ((level || "info") as LogLevel);
    // `levels` lines: `logger.name = level`, one per line or comma-separated.
    for (const item of levels.split(/[\n,]/)) {
      if (item.trim() === "") continue;
      const [name, lvl] = item.split("=").map((s) => s.trim());
      if (!name || !lvl || !isLogLevel(lvl)) {
        const entry = this.config.entries("logging").get("levels");
        throw new ConfigError(`${entry ? `${entry.file}:${entry.line}: ` : ""}[logging] key 'levels': expected 'logger.name = level', got '${item.trim().slice(0, 100)}'`);
      }
      this.logs.setLevel(name, lvl);
    }
  }

  /**
   * True when the last `run()` gave up waiting for services to stop (`[general] stop_timeout`).
   * What did not stop may still hold the event loop (a read, a timer): a process that owns the
   * application (the CLI) exits then instead of running on.
   */
  get stopTimedOut(): boolean {
    return this.gaveUpStopping;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Seconds since the epoch, from the application's clock. */
  time(): number {
    return this.clock();
  }

  addService(name: string, service: Service): void {
    if (this.services.has(name)) throw new Error(`Service '${name}' is already registered`);
    this.services.set(name, service);
  }

  getService<S extends Service>(name: string): S {
    const service = this.services.get(name);
    if (!service) throw new Error(`Service '${name}' not found (registered: ${[...this.services.keys()].join(", ") || "none"})`);
    return service as S;
  }

  /** The PumpService, when this is a BSPumpApplication. */
  pumpServiceOrNull(): PumpService | null {
    const service = this.services.get("bspump.PumpService");
    return service instanceof PumpService ? service : null;
  }

  /** Runs until stopped; resolves with the exit code (0 after a clean stop). */
  async run(): Promise<number> {
    if (this.running) throw new Error("Application is already running");
    const problems = this.configProblems();
    if (problems.length > 0) throw new ConfigErrors(problems);
    this.running = true;
    const stopped = new Promise<number>((resolve) => (this.stopRequested = resolve));
    if (this.pendingStopCode !== null) this.stopRequested?.(this.pendingStopCode);
    const removeSignals = this.handleSignals ? this.installSignals() : () => {};
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks++;
      this.pubsub.publish("Application.tick!");
      if (ticks % 10 === 0) this.pubsub.publish("Application.tick/10!");
      if (ticks % 60 === 0) this.pubsub.publish("Application.tick/60!");
      if (ticks % 300 === 0) this.pubsub.publish("Application.tick/300!");
      if (ticks % this.metricsInterval() === 0) this.pubsub.publish("Metrics.flush!");
    }, 1000);

    let exitCode = 0;
    try {
      for (const unused of this.config.unclaimed(["pipeline:", "connection:", "lookup:"])) {
        this.log.warn(`Config section [${unused}] is not used by any component (check the ids)`);
      }
      for (const service of this.services.values()) await service.initialize?.();
      this.pubsub.publish("Application.run!");
      await this.main();
      exitCode = await stopped;
    } catch (e) {
      this.log.error(`Application failed: ${toError(e).message}`, { error: toError(e) });
      exitCode = 1;
    }

    this.log.info("Stopping");
    await this.pubsub.publishAndWait("Application.stop!", 1);
    const timeout = this.stopTimeout();
    this.gaveUpStopping = false;
    let timer: NodeJS.Timeout | undefined;
    const finalized = await Promise.race([
      this.finalizeServices().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeout * 1000))),
    ]);
    clearTimeout(timer);
    if (!finalized) {
      this.gaveUpStopping = true;
      this.log.error(`Graceful stop did not finish within ${timeout} s ([general] stop_timeout); some events may not be acknowledged`);
      exitCode = exitCode || 1;
    }
    await this.pubsub.publishAndWait("Application.exit!");
    clearInterval(ticker);
    removeSignals();
    this.running = false;
    this.stopRequested = null;
    this.pendingStopCode = null;
    return exitCode;
  }

  /**
   * Configuration problems that only show once everything is built (a section for a pipeline that
   * does not exist); `run()` refuses to start with any, and `bspump check` reports them.
   */
  configProblems(): ConfigError[] {
    return [];
  }

  /** Override for work that runs once everything started. */
  async main(): Promise<void> {}

  /**
   * Requests a graceful stop; `run()` then resolves with `exitCode`. Publishes
   * `Application.stopRequested!` at once (synchronously), before `Application.stop!`, which comes
   * only after the services finished starting: a component waiting on something slow while the
   * application starts (a slave lookup asking its master) gives up on it there.
   */
  stop(exitCode = 0): void {
    if (this.stopRequested) this.stopRequested(exitCode);
    else this.pendingStopCode = exitCode;
    this.pubsub.publish("Application.stopRequested!");
  }

  private async finalizeServices(): Promise<void> {
    for (const [name, service] of [...this.services].reverse()) {
      try {
        await service.finalize?.();
      } catch (e) {
        this.log.error(`Service '${name}' failed to stop`, { error: toError(e) });
      }
    }
  }

  protected stopTimeout(): number {
    return this.stopTimeoutSeconds;
  }

  private metricsInterval(): number {
    return this.metricsIntervalSeconds;
  }

  private installSignals(): () => void {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals) => {
      if (signal === "SIGINT" && this.sigintFromSupervisor) return;
      signals++;
      if (signals > 1) {
        this.log.error(`Second ${signal} during graceful stop: exiting now`);
        process.exit(130);
      }
      this.log.info(`${signal} received: stopping gracefully`);
      this.stop(0);
    };
    const onClearErrors = () => this.onClearErrorsSignal();
    process.on("SIGINT", onStop);
    process.on("SIGTERM", onStop);
    process.on("SIGUSR1", onClearErrors);
    return () => {
      process.off("SIGINT", onStop);
      process.off("SIGTERM", onStop);
      process.off("SIGUSR1", onClearErrors);
    };
  }

  /** SIGUSR1 clears the error state of every pipeline (BSPump's recovery signal). */
  protected onClearErrorsSignal(): void {
    const pumps = this.pumpServiceOrNull();
    for (const pipeline of pumps?.pipelines.values() ?? []) if (pipeline.isError()) pipeline.setError(null, null, null);
  }
}

/** Builds the web API service for an application; set by the web family when it is loaded. */
export type WebServiceFactory = (app: BSPumpApplication, listen: string) => Service;

let webServiceFactory: WebServiceFactory | null = null;

export function registerWebServiceFactory(factory: WebServiceFactory): void {
  webServiceFactory = factory;
}

/**
 * The BSPump application: an Application with the PumpService (and the web API when configured).
 * With `[bspump] workers` > 1 this process becomes the supervisor (src/core/supervisor.ts): it
 * builds the pipelines (so bad config stops it before any fork) but runs none; it forks the
 * workers, which run this same program, and serves the web API for all of them.
 */
export class BSPumpApplication extends Application {
  readonly pumpService: PumpService;
  /** Set in the supervisor of worker processes. */
  readonly supervisor: WorkerSupervisor | null = null;
  /** This process's worker index when it is a worker of a supervisor, else null. */
  readonly workerIndex: number | null;

  constructor(options: ApplicationOptions = {}) {
    super(options);
    const settings = workerSettings(this.config);
    this.workerIndex = workerIndex();
    this.pumpService = new PumpService(this);
    this.addService("bspump.PumpService", this.pumpService);
    if (this.workerIndex !== null) {
      this.pumpService.workerIndex = this.workerIndex;
      this.sigintFromSupervisor = true;
      new WorkerAgent(this, this.workerIndex, () => this.pumpService.runningPipelines().map((p) => p.id));
      return; // the supervisor serves the web API
    }
    if (settings.workers > 1) {
      this.pumpService.supervised = true;
      this.supervisor = new WorkerSupervisor(this, settings);
      this.addService("bspump.WorkerSupervisor", this.supervisor);
    }
    const listen = this.config.get("web", "listen");
    if (listen !== undefined && listen !== "") {
      if (!webServiceFactory) throw new ConfigError("[web] listen is set, but the web API module is not loaded (import 'bspump')");
      this.addService("bspump.WebService", webServiceFactory(this, listen));
    }
  }

  /** Sections `[pipeline:P]` / `[pipeline:P:Component]` for a pipeline P the application does not have. */
  override configProblems(): ConfigError[] {
    const problems = super.configProblems();
    for (const section of this.config.sectionNames()) {
      const m = /^pipeline:([^:]+)/.exec(section);
      if (m && !this.pumpService.pipelines.has(m[1]!)) {
        const known = [...this.pumpService.pipelines.keys()].join(", ") || "none";
        problems.push(new ConfigError(`${this.config.sectionOrigin(section)}: [${section}] is for pipeline '${m[1]}', which does not exist (pipelines: ${known})`));
      }
    }
    return problems;
  }

  /** The supervisor waits for its workers, each of which has the whole stop_timeout. */
  protected override stopTimeout(): number {
    return super.stopTimeout() + (this.supervisor ? 10 : 0);
  }

  override async main(): Promise<void> {
    if (this.supervisor) return;
    const ready = [...this.pumpService.pipelines.values()].filter((p) => p.isReady()).length;
    this.log.info(ready === 0 ? "No pipeline is ready yet." : ready === 1 ? "1 pipeline is ready." : `${ready} pipelines are ready.`);
  }
}
