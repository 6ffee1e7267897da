import { spawn, type ChildProcess } from "node:child_process";
import { ConfigError, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { badInput } from "../codec/badInput.js";
import { LineFramer, framingEncoding, maxLineLengthKey, type LineFramingOptions, type LineTarget } from "../codec/lines.js";
import { isBytes, textCodec, type TextCodec } from "../codec/text.js";
import { StderrLog } from "./stderrLog.js";

/** How one run of the command ended. */
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started (no shell, no memory, too many processes). */
  spawnError: Error | null;
}

/** What the framer passes back with every line: the run it came from. */
interface Run {
  readonly pid: number;
  readonly number: number;
}

const CONFIG = {
  command: { type: "string", default: "", doc: "The shell command (run with /bin/sh -c)", required: true },
  line_len_limit: maxLineLengthKey(1048576),
  ok_return_codes: { type: "string", default: "0", doc: "Exit codes that are not a failure (comma-separated)" },
  decode: { type: "encoding", default: "bytes", doc: "Codec of the lines; 'bytes' (or empty) emits Buffers, as BSPump" },
  restart_delay: { type: "float", default: 5, doc: "Seconds before starting the command again after a bad exit (doubling after each bad exit in a row)" },
  max_restart_delay: { type: "float", default: 60, doc: "Longest delay between restarts after bad exits" },
  ok_restart_delay: { type: "float", default: 0, doc: "Seconds before starting the command again after an exit with an ok code" },
  kill_timeout: { type: "float", default: 5, doc: "Seconds between SIGTERM and SIGKILL when the source stops" },
} satisfies ConfigSpec;

/**
 * Runs a shell command and emits every line of its standard output as one event (a Buffer, as in
 * BSPump, or a string with `decode`): `tail -F file`, `journalctl -f -o json`, `tcpdump -l`.
 * Lines are framed by the codec layer: a line over `line_len_limit` bytes is bad input (a counted
 * warning, the dead-letter target), dropped up to its end.
 *
 * - Back-pressure: while the pipeline is not ready the source stops reading the pipe; once it is
 *   full the command blocks on its writes (nothing piles up in the pump).
 * - When the command exits it is started again: at once after a code in `ok_return_codes` (after
 *   `ok_restart_delay`), else after `restart_delay` seconds, doubling after each bad exit in a row up
 *   to `max_restart_delay` (a command that does not exist logs one warning per attempt, not a flood).
 *   A run that lasted longer than `max_restart_delay` resets the delay.
 * - Standard error is logged line by line as warnings, at most 10 lines per 10 s (the rest counted).
 * - Stop: SIGTERM to the command's process group (the shell and what it started), SIGKILL after
 *   `kill_timeout` seconds. The group is also killed if the pump exits without stopping the source.
 *
 * BSPump: `bspump.subprocess.SubProcessSource` (fixed 5 s sleep after a bad exit; a line over the
 * limit ended the source with an exception).
 */
export class SubProcessSource extends Source implements LineTarget<Run> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly command: string;
  private readonly okCodes: Set<number>;
  private readonly framing: LineFramingOptions;
  private readonly lineCodec: TextCodec | null;
  private readonly restartDelay: number;
  private readonly maxRestartDelay: number;
  private readonly okRestartDelay: number;
  private readonly killTimeout: number;
  private readonly stderr: StderrLog;
  private child: ChildProcess | null = null;
  private exited: Promise<Exit> | null = null;
  private runs = 0;
  readonly stats = { starts: 0, bad_exits: 0, lines: 0, bytes: 0, long_lines: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const section = this.config.section;
    this.command = this.config.getString("command");
    if (this.command.trim() === "") throw new ConfigError(`[${section}] command: no command given`);
    const codes = this.config.getString("ok_return_codes").split(",").map((c) => c.trim()).filter((c) => c !== "");
    for (const c of codes) if (!/^-?\d+$/.test(c)) throw new ConfigError(`[${section}] ok_return_codes: '${c}' is not an integer`);
    this.okCodes = new Set(codes.map(Number));
    const decode = this.config.getString("decode");
    const codec = isBytes(decode, true) ? null : textCodec(decode, `[${section}] key 'decode'`);
    const encoding = framingEncoding(codec);
    this.lineCodec = encoding === null ? codec : null;
    this.framing = { encoding, maxLength: this.config.getInt("line_len_limit") };
    this.restartDelay = Math.max(0, this.config.getFloat("restart_delay"));
    this.maxRestartDelay = Math.max(this.restartDelay, this.config.getFloat("max_restart_delay"));
    this.okRestartDelay = Math.max(0, this.config.getFloat("ok_restart_delay"));
    this.killTimeout = Math.max(0, this.config.getFloat("kill_timeout"));
    this.stderr = new StderrLog(this.log, pipeline);
    app.metrics.addCollector(() => [{ name: "bspump.subprocess", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats, stderr_lines: this.stderr.lines, running: this.child !== null ? 1 : 0 } }]);
  }

  /** The process id of the running command (its process group), or null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async main(): Promise<void> {
    let delay = this.restartDelay;
    while (!this.stopping) {
      if (!(await this.waitReady())) return;
      const started = Date.now();
      const exit = await this.runOnce();
      if (this.stopping) return;
      if (Date.now() - started > this.maxRestartDelay * 1000) delay = this.restartDelay;
      const how = exit.spawnError !== null ? `could not be started: ${exit.spawnError.message}` : exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
      if (exit.spawnError === null && exit.code !== null && this.okCodes.has(exit.code)) {
        this.log.debug(`Command '${this.command}' ${how}; starting it again`);
        delay = this.restartDelay;
        if (this.okRestartDelay > 0 && !(await this.sleep(this.okRestartDelay))) return;
        continue;
      }
      this.stats.bad_exits++;
      const hint = exit.code === 127 ? " (command not found)" : exit.code === 126 ? " (not executable)" : "";
      this.log.warn(`Command '${this.command}' ${how}${hint}; starting it again in ${delay} s`);
      if (!(await this.sleep(delay))) return;
      delay = Math.min(this.maxRestartDelay, Math.max(delay * 2, 0.01));
    }
  }

  /** Starts the command and hands its lines over until its output ends; resolves with how it exited. */
  private async runOnce(): Promise<Exit> {
    let child: ChildProcess;
    try {
      // Its own process group, so that a stop reaches what the shell started (tail, a pipeline).
      child = spawn(this.command, { shell: true, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      return { code: null, signal: null, spawnError: toError(e) };
    }
    const exited = new Promise<Exit>((resolve) => {
      child.once("error", (e) => resolve({ code: null, signal: null, spawnError: e }));
      child.once("close", (code, signal) => resolve({ code, signal, spawnError: null }));
    });
    if (child.pid === undefined) return exited;
    this.child = child;
    this.exited = exited;
    const killOnExit = (): void => killGroup(child, "SIGKILL");
    process.once("exit", killOnExit);
    this.stats.starts++;
    const run: Run = { pid: child.pid, number: ++this.runs };
    this.log.debug(`Started '${this.command}' (pid ${run.pid})`);
    const stderr = this.stderr.consume(child.stderr!, run.pid, this.framing.maxLength);
    try {
      await new LineFramer<Run>(this, this.framing).frame(this.counted(child.stdout!), run);
    } catch (e) {
      if (!this.stopping) this.log.warn(`Reading the output of '${this.command}' failed: ${toError(e).message}`);
    }
    // Stopping: stop() kills the group; otherwise the output ended, so the command is exiting.
    // An unread pipe would hold back the child's 'close' event.
    child.stdout!.destroy();
    const exit = await exited;
    await stderr;
    process.off("exit", killOnExit);
    if (this.child === child) {
      this.child = null;
      this.exited = null;
    }
    return exit;
  }

  private async *counted(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      this.stats.bytes += chunk.length;
      yield chunk;
    }
  }

  /** One line of output (LineTarget): a copy of its bytes, or its text. */
  emitLine(line: string | Buffer, _lineNo: number, _run: Run): void {
    this.stats.lines++;
    const event = typeof line === "string" ? line : this.lineCodec !== null ? this.lineCodec.decode(line) : Buffer.from(line);
    this.pipeline.process(event);
  }

  /** A line over line_len_limit (LineTarget): bad input, with its first bytes. */
  lineTooLong(lineNo: number, head: Buffer, length: number, run: Run): void {
    this.stats.long_lines++;
    const context: EventContext = { line: lineNo, "subprocess.pid": run.pid, "subprocess.command": this.command };
    badInput(this.pipeline, this.log, this.id, context, head, new Error(`line longer than line_len_limit (${length} > ${this.framing.maxLength} bytes) from '${this.command}'`));
  }

  /** SIGTERM to the command's group, SIGKILL after kill_timeout; resolves when it is gone. */
  protected override async onStop(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (child === null || exited === null) return;
    killGroup(child, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.killTimeout * 1000)))]);
    clearTimeout(timer);
    if (killed) {
      this.log.warn(`Command '${this.command}' (pid ${child.pid}) did not exit ${this.killTimeout} s after SIGTERM; sending SIGKILL`);
      killGroup(child, "SIGKILL");
      await exited;
    }
    // The shell may be gone while something it started in the group is still alive.
    killGroup(child, "SIGKILL");
  }
}

/** Signals the whole process group of `child` (started detached: its pid is the group id). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone
  }
}
