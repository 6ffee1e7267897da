import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Document, LineCounter } from "yaml";
import {
  ConfigError,
  ConfigErrors,
  Connection,
  dependency,
  Lookup,
  OpportunisticTrigger,
  PeriodicTrigger,
  Pipeline,
  ProcessorBase,
  PubSubTrigger,
  RunOnceTrigger,
  Source,
  TriggerSource,
  type BSPumpApplication,
  type ComponentDefinition,
  type ConfigInput,
  type Trigger,
} from "../core/index.js";
import { DeclarationError } from "./expression/ast.js";
import { families, findComponent } from "./registry.js";

const yaml = dependency<typeof import("yaml")>("yaml");

/**
 * Builds connections, lookups and pipelines from a YAML or JSON definition (BSPump's PumpBuilder):
 *
 * ```yaml
 * connections:
 *   - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "http://127.0.0.1:9200"}}
 * pipelines:
 *   - id: MyPipeline
 *     sources: [{class: file.FileLineSource, config: {path: "/data/*.log"}, trigger: {class: PeriodicTrigger, args: {interval: 5}}}]
 *     processors: [{class: common.StdJsonToDictParser}]
 *     sink: {class: elasticsearch.ElasticSearchSink, args: {connection: ES}}
 * ```
 * `class` is `family.ClassName`; BSPump's `module: bspump.file` + `class: FileLineSource` works too,
 * and `module: ./my-components.js` loads a user module relative to the definition file. A bare
 * module name that is not a family (BSPump's `module: bspump-pumpbuilder`) is looked for next to the
 * definition file (`.js`, `.mjs`, `.ts`), then as a package — where Python's import found it on
 * `sys.path`. Data paths in `config` are the components' own and resolve against the working
 * directory, as in BSPump (whose samples say `path: etc/test.csv`).
 *
 * `constructPump` builds everything it can and then throws one ConfigError listing every error of
 * the definition, each with its file and line (`errors` holds them one by one).
 */
export class PumpBuilder {
  private readonly doc: Document;
  private readonly lines: LineCounter = new (yaml().LineCounter)();
  private readonly baseDir: string;
  private readonly userModules = new Map<string, Record<string, unknown>>();
  /** Errors found so far by constructPump; each `file:line: message`. */
  private readonly errors: ConfigError[] = [];
  /** Things that have no effect, said once each (a pipeline's `args`, ignored as in BSPump). */
  readonly notes: string[] = [];

  constructor(
    private readonly fileName: string,
    text?: string,
  ) {
    let source = text;
    if (source === undefined) {
      try {
        source = readFileSync(fileName, "utf8");
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const why = err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory, not a definition file" : err.message;
        throw new ConfigError(`${fileName}: cannot read the definition: ${why}`);
      }
    }
    this.baseDir = dirname(resolve(fileName));
    this.doc = yaml().parseDocument(source, { lineCounter: this.lines, prettyErrors: true });
    const syntax = this.doc.errors[0];
    if (syntax) throw new ConfigError(`${fileName}:${syntax.linePos?.[0].line ?? "?"}: ${syntax.message.split("\n")[0]}`);
  }

  static fromFile(path: string): PumpBuilder {
    return new PumpBuilder(path);
  }

  private where(path: (string | number)[]): string {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    if (offset === undefined) return this.fileName;
    return `${this.fileName}:${this.lines.linePos(offset).line}`;
  }

  private fail(path: (string | number)[], message: string): never {
    throw new ConfigError(`${this.where(path)}: ${message}`);
  }

  private value(path: (string | number)[]): unknown {
    const node = this.doc.getIn(path, true);
    return node === undefined ? undefined : (this.doc.getIn(path) as unknown);
  }

  private object(path: (string | number)[], allowed: readonly string[]): Record<string, unknown> {
    const node = this.doc.getIn(path, true);
    if (!yaml().isMap(node)) this.fail(path, `expected a mapping at ${path.join(".") || "the top level"}`);
    const obj = (path.length ? this.doc.getIn(path) : this.doc.toJS()) as unknown;
    const plain = (obj && typeof obj === "object" && "toJSON" in obj ? (obj as { toJSON(): unknown }).toJSON() : obj) as Record<string, unknown>;
    for (const key of Object.keys(plain)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown key '${key}' in ${path.join(".") || "the definition"}; allowed: ${allowed.join(", ")}`);
    }
    return plain;
  }

  private list(path: (string | number)[]): number {
    const node = this.doc.getIn(path, true);
    if (node === undefined) return 0;
    if (!yaml().isSeq(node)) this.fail(path, `expected a list at ${path.join(".")}`);
    return node.items.length;
  }

  /** Loads user modules named in the definition (they are ES modules, so this is async). */
  async loadModules(): Promise<void> {
    const wanted = new Map<string, (string | number)[]>();
    const visit = (node: unknown, path: (string | number)[]): void => {
      if (Array.isArray(node)) node.forEach((n, i) => visit(n, [...path, i]));
      else if (node && typeof node === "object") {
        const m = (node as Record<string, unknown>).module;
        if (typeof m === "string" && isUserModule(m) && !wanted.has(m)) wanted.set(m, [...path, "module"]);
        for (const [k, v] of Object.entries(node)) visit(v, [...path, k]);
      }
    };
    visit(this.doc.toJS(), []);
    for (const [m, path] of wanted) {
      try {
        this.userModules.set(m, (await import(this.moduleSpecifier(m))) as Record<string, unknown>);
      } catch (e) {
        this.errors.push(new ConfigError(`${this.where(path)}: cannot load module '${m}': ${(e as Error).message.split("\n")[0]}`));
      }
    }
  }

  /** A path relative to the definition file; a bare name next to it (with an extension), else a package. */
  private moduleSpecifier(m: string): string {
    if (m.startsWith(".") || m.startsWith("/")) return pathToFileURL(resolve(this.baseDir, m)).href;
    for (const ext of [".js", ".mjs", ".ts"]) {
      const file = resolve(this.baseDir, m + ext);
      if (existsSync(file)) return pathToFileURL(file).href;
    }
    return m;
  }

  private resolveClass(path: (string | number)[], entry: Record<string, unknown>): Function {
    const cls = entry.class;
    if (typeof cls !== "string" || cls === "") this.fail(path, "each component needs a 'class'");
    const module = entry.module;
    if (typeof module === "string" && isUserModule(module)) {
      if (!this.userModules.has(module)) this.fail([...path, "module"], `module '${module}' was not loaded`);
      const ctor = this.userModules.get(module)![cls];
      if (typeof ctor !== "function") this.fail([...path, "class"], `module '${module}' does not export a class '${cls}'`);
      return ctor;
    }
    const name = typeof module === "string" ? `${module.replace(/^bspump\.?/, "")}.${cls}` : cls;
    try {
      return findComponent(name).ctor;
    } catch (e) {
      return this.fail([...path, "class"], (e as Error).message);
    }
  }

  private definition(path: (string | number)[], entry: Record<string, unknown>): ComponentDefinition {
    const config = entry.config;
    if (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config))) this.fail([...path, "config"], "'config' must be a mapping of key: value");
    const args = entry.args;
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) this.fail([...path, "args"], "'args' must be a mapping");
    if (entry.id !== undefined && typeof entry.id !== "string") this.fail([...path, "id"], "'id' must be a string");
    return {
      id: entry.id as string | undefined,
      config: config as ConfigInput | undefined,
      args: args as Record<string, unknown> | undefined,
      // Config errors point at the config mapping; other errors (a missing argument) at the entry.
      origin: this.where(config === undefined ? path : [...path, "config"]),
    };
  }

  private construct<T>(path: (string | number)[], base: Function, what: string, make: (ctor: Function, def: ComponentDefinition) => T): T {
    const entry = this.object(path, ["id", "module", "class", "args", "config", "trigger"]);
    const ctor = this.resolveClass(path, entry);
    if (!(ctor === base || ctor.prototype instanceof base)) this.fail([...path, "class"], `'${String(entry.class)}' is not a ${what}`);
    const def = this.definition(path, entry);
    try {
      return make(ctor, def);
    } catch (e) {
      if (e instanceof ConfigErrors) throw new ConfigErrors(e.errors.map((x) => this.located(path, x)));
      // A declaration's errors each name their own file, line and column: all of them are reported.
      if (e instanceof DeclarationError && e.errors.length > 1) throw new ConfigErrors(e.errors.map((x) => this.located(path, x)));
      if (e instanceof ConfigError) throw this.located(path, e);
      return this.fail(path, `cannot build ${String(entry.class)}: ${(e as Error).message}`);
    }
  }

  /** Config errors from an INI file name their own place; the others get the component's line. */
  private located(path: (string | number)[], e: ConfigError): ConfigError {
    return /^[^\n]*?:\d+: /.test(e.message) ? e : new ConfigError(`${this.where(path)}: ${e.message}`);
  }

  private trigger(app: BSPumpApplication, path: (string | number)[]): Trigger {
    const entry = this.object(path, ["id", "module", "class", "args"]);
    const args = (entry.args ?? {}) as Record<string, unknown>;
    if (typeof args !== "object" || Array.isArray(args)) this.fail([...path, "args"], "'args' must be a mapping");
    // BSPump's samples give `id: ""` for "the default id".
    const id = typeof entry.id === "string" && entry.id !== "" ? entry.id : undefined;
    const arg = (name: string, ok: (v: unknown) => boolean, expected: string): unknown => {
      const v = args[name];
      if (v !== undefined && !ok(v)) this.fail([...path, "args", name], `trigger argument '${name}': expected ${expected}, got ${JSON.stringify(v)}`);
      return v;
    };
    const seconds = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0 && v <= 86400 * 366;
    switch (String(entry.class).replace(/^(bspump\.)?(trigger\.)?/, "")) {
      case "PeriodicTrigger":
        return new PeriodicTrigger(app, (arg("interval", seconds, "a number of seconds > 0") as number | undefined) ?? 1, { id });
      case "PubSubTrigger": {
        const types = arg("message_types", (v) => (typeof v === "string" && v !== "") || (Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === "string" && t !== "")), "a message type or a list of them");
        if (types === undefined) this.fail(path, "PubSubTrigger needs args.message_types");
        return new PubSubTrigger(app, types as string | string[], undefined, { id });
      }
      case "OpportunisticTrigger":
        return new OpportunisticTrigger(app, {
          id,
          runImmediately: arg("run_immediately", (v) => typeof v === "boolean", "true or false") as boolean | undefined,
          chilldownPeriod: arg("chilldown_period", (v) => v === 0 || seconds(v), "a number of seconds >= 0") as number | undefined,
        });
      case "RunOnceTrigger":
        return new RunOnceTrigger(app, { id });
      default:
        return this.fail([...path, "class"], `unknown trigger '${String(entry.class)}'; use PeriodicTrigger, PubSubTrigger, OpportunisticTrigger or RunOnceTrigger`);
    }
  }

  /**
   * Builds connections, then lookups, then pipelines, and registers them with the PumpService.
   * A component that fails is left out and the building goes on, so that one run reports every
   * error of the definition; then it throws them together.
   */
  async constructPump(app: BSPumpApplication): Promise<void> {
    await this.loadModules();
    const svc = app.pumpService;
    this.attempt(() => this.object([], ["connections", "lookups", "pipelines"]));
    for (let i = 0; i < (this.attempt(() => this.list(["connections"])) ?? 0); i++) {
      const path = ["connections", i];
      this.attempt(() => {
        const connection = this.construct(path, Connection, "connection", (ctor, def) => (ctor as typeof Connection).construct(app, def));
        if (svc.connections.has(connection.id)) this.fail(path, `a connection '${connection.id}' is defined twice`);
        svc.addConnection(connection);
      });
    }
    for (let i = 0; i < (this.attempt(() => this.list(["lookups"])) ?? 0); i++) {
      const path = ["lookups", i];
      this.attempt(() => {
        const lookup = this.construct(path, Lookup, "lookup", (ctor, def) => (ctor as typeof Lookup).construct(app, def));
        if (svc.lookups.has(lookup.id)) this.fail(path, `a lookup '${lookup.id}' is defined twice`);
        svc.addLookup(lookup);
      });
    }
    const count = this.attempt(() => this.list(["pipelines"])) ?? 0;
    if (count === 0) this.attempt(() => this.fail([], "the definition has no pipelines"));
    for (let i = 0; i < count; i++) this.attempt(() => this.pipeline(app, ["pipelines", i]));
    if (this.errors.length > 0) throw new ConfigErrors(this.errors);
    for (const note of this.notes) app.log.warn(note);
  }

  /** Runs one step; a ConfigError is kept for the report and the step's result is undefined. */
  private attempt<T>(step: () => T): T | undefined {
    try {
      return step();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.errors.push(...(e instanceof ConfigErrors ? e.errors : [e]));
      return undefined;
    }
  }

  private pipeline(app: BSPumpApplication, path: (string | number)[]): void {
    const svc = app.pumpService;
    const entry = this.object(path, ["id", "config", "sources", "processors", "sink", "args"]);
    if (typeof entry.id !== "string" || entry.id === "") this.fail(path, "each pipeline needs an 'id'");
    if (svc.pipelines.has(entry.id)) this.fail([...path, "id"], `a pipeline '${entry.id}' is defined twice`);
    const args = entry.args;
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) this.fail([...path, "args"], "'args' must be a mapping");
    // BSPump's PumpBuilder always makes a plain Pipeline and ignores its args: accepted, said once.
    if (args && Object.keys(args).length > 0) this.notes.push(`${this.where([...path, "args"])}: pipeline '${entry.id}': 'args' has no effect (as in BSPump)`);
    const pipeline = new Pipeline(app, entry.id, { config: entry.config as ConfigInput | undefined, configOrigin: this.where([...path, "config"]) });
    const before = this.errors.length;
    const sourceCount = this.attempt(() => this.list([...path, "sources"])) ?? 0;
    if (sourceCount === 0) this.attempt(() => this.fail(path, `pipeline '${entry.id}' needs at least one source`));
    for (let s = 0; s < sourceCount; s++) {
      const sp = [...path, "sources", s];
      this.attempt(() => {
        const source = this.construct(sp, Source, "source", (ctor, def) => (ctor as typeof Source).construct(app, pipeline, def));
        if (this.value([...sp, "trigger"]) !== undefined) {
          if (!(source instanceof TriggerSource)) this.fail([...sp, "trigger"], `${source.constructor.name} is not a TriggerSource; it takes no trigger`);
          source.on(this.trigger(app, [...sp, "trigger"]));
        }
        pipeline.setSource(source);
      });
    }
    for (let p = 0; p < (this.attempt(() => this.list([...path, "processors"])) ?? 0); p++) {
      const pp = [...path, "processors", p];
      this.attempt(() => pipeline.appendProcessor(this.construct(pp, ProcessorBase, "processor", (ctor, def) => (ctor as typeof ProcessorBase).construct(app, pipeline, def))));
    }
    if (this.value([...path, "sink"]) === undefined) this.fail(path, `pipeline '${entry.id}' needs a 'sink'`);
    this.attempt(() => pipeline.appendProcessor(this.construct([...path, "sink"], ProcessorBase, "sink", (ctor, def) => (ctor as typeof ProcessorBase).construct(app, pipeline, def))));
    if (this.errors.length === before) svc.addPipeline(pipeline);
  }
}

/** A `module:` that names code of the user's rather than a bspump family (`bspump.file`, `file`). */
function isUserModule(module: string): boolean {
  if (module.startsWith(".") || module.startsWith("/")) return true;
  const family = module.replace(/^bspump\.?/, "");
  return family !== "" && family !== "trigger" && !families().has(family);
}

/** True for file names the builder reads (YAML or JSON). */
export function isDefinitionFile(path: string): boolean {
  return [".yaml", ".yml", ".json"].includes(extname(path).toLowerCase());
}
