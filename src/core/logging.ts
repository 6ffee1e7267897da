/**
 * Structured logs: JSON lines, or a human-readable line when stderr is a terminal.
 * Each logger has a name (e.g. `bspump.pipeline.MyPipeline`) and fixed fields (pipeline and
 * component ids); levels can be set per logger-name prefix.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  time: string;
  level: LogLevel;
  logger: string;
  msg: string;
  [field: string]: unknown;
}

export type LogWriter = (record: LogRecord) => void;

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_RANK;
}

/** Owns output and levels for all loggers of one application. */
export class LogManager {
  defaultLevel: LogLevel = "info";
  private readonly levels = new Map<string, LogLevel>();
  writer: LogWriter;

  constructor(format: "json" | "human" = process.stderr.isTTY ? "human" : "json") {
    this.writer = format === "json" ? writeJson : writeHuman;
  }

  /** Sets the level for a logger name and everything below it (`bspump.kafka` covers `bspump.kafka.X`). */
  setLevel(prefix: string, level: LogLevel): void {
    this.levels.set(prefix, level);
  }

  levelOf(name: string): LogLevel {
    let best: LogLevel | undefined;
    let bestLength = -1;
    for (const [prefix, level] of this.levels) {
      if ((name === prefix || name.startsWith(prefix + ".")) && prefix.length > bestLength) {
        best = level;
        bestLength = prefix.length;
      }
    }
    return best ?? this.defaultLevel;
  }

  logger(name: string, fields: Record<string, unknown> = {}): Logger {
    return new Logger(this, name, fields);
  }
}

export class Logger {
  /** Extra observers (a pipeline keeps its last records for the web API). */
  private hooks: LogWriter[] = [];

  constructor(
    private readonly manager: LogManager,
    readonly name: string,
    private readonly fields: Record<string, unknown>,
  ) {}

  child(suffix: string, fields: Record<string, unknown> = {}): Logger {
    const child = new Logger(this.manager, `${this.name}.${suffix}`, { ...this.fields, ...fields });
    child.hooks = this.hooks;
    return child;
  }

  addHook(hook: LogWriter): void {
    this.hooks.push(hook);
  }

  isEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= LEVEL_RANK[this.manager.levelOf(this.name)];
  }

  debug(msg: string, data?: Record<string, unknown>): void {
    this.log("debug", msg, data);
  }
  info(msg: string, data?: Record<string, unknown>): void {
    this.log("info", msg, data);
  }
  warn(msg: string, data?: Record<string, unknown>): void {
    this.log("warn", msg, data);
  }
  error(msg: string, data?: Record<string, unknown>): void {
    this.log("error", msg, data);
  }

  log(level: LogLevel, msg: string, data?: Record<string, unknown>): void {
    const enabled = this.isEnabled(level);
    if (!enabled && this.hooks.length === 0) return;
    const record: LogRecord = { time: new Date().toISOString(), level, logger: this.name, msg, ...this.fields, ...data };
    for (const hook of this.hooks) hook(record);
    if (enabled) this.manager.writer(record);
  }
}

function writeJson(record: LogRecord): void {
  process.stderr.write(JSON.stringify(record, errorReplacer) + "\n");
}

function writeHuman(record: LogRecord): void {
  const { time, level, logger, msg, ...rest } = record;
  const extra = Object.keys(rest).length ? " " + JSON.stringify(rest, errorReplacer) : "";
  process.stderr.write(`${time} ${level.toUpperCase().padEnd(5)} ${logger}: ${msg}${extra}\n`);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
