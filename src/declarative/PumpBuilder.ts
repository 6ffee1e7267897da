import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Document, LineCounter } from "yaml";
import {
  ConfigError,
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
import { findComponent } from "./registry.js";

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
 * and `module: ./my-components.js` loads a user module relative to the definition file.
 * Every error names the file and line.
 */
export class PumpBuilder {
  private readonly doc: Document;
  private readonly lines: LineCounter = new (yaml().LineCounter)();
  private readonly baseDir: string;
  private readonly userModules = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly fileName: string,
    text?: string,
  ) {
    const source = text ?? readFileSync(fileName, "utf8");
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
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === "object") {
        const m = (node as Record<string, unknown>).module;
        if (typeof m === "string" && (m.startsWith(".") || m.startsWith("/"))) this.userModules.set(m, {});
        Object.values(node).forEach(visit);
      }
    };
    visit(this.doc.toJS());
    for (const m of this.userModules.keys()) {
      const url = pathToFileURL(resolve(this.baseDir, m)).href;
      this.userModules.set(m, (await import(url)) as Record<string, unknown>);
    }
  }

  private resolveClass(path: (string | number)[], entry: Record<string, unknown>): Function {
    const cls = entry.class;
    if (typeof cls !== "string" || cls === "") this.fail(path, "each component needs a 'class'");
    const module = entry.module;
    if (typeof module === "string" && this.userModules.has(module)) {
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
      if (e instanceof ConfigError) throw e;
      return this.fail(path, `cannot build ${String(entry.class)}: ${(e as Error).message}`);
    }
  }

  private trigger(app: BSPumpApplication, path: (string | number)[]): Trigger {
    const entry = this.object(path, ["id", "module", "class", "args"]);
    const args = (entry.args ?? {}) as Record<string, unknown>;
    const id = entry.id as string | undefined;
    switch (String(entry.class).replace(/^(bspump\.)?(trigger\.)?/, "")) {
      case "PeriodicTrigger":
        return new PeriodicTrigger(app, Number(args.interval ?? 1), { id });
      case "PubSubTrigger":
        return new PubSubTrigger(app, args.message_types as string | string[], undefined, { id });
      case "OpportunisticTrigger":
        return new OpportunisticTrigger(app, { id, runImmediately: args.run_immediately as boolean | undefined, chilldownPeriod: args.chilldown_period as number | undefined });
      case "RunOnceTrigger":
        return new RunOnceTrigger(app, { id });
      default:
        return this.fail([...path, "class"], `unknown trigger '${String(entry.class)}'; use PeriodicTrigger, PubSubTrigger, OpportunisticTrigger or RunOnceTrigger`);
    }
  }

  /** Builds connections, then lookups, then pipelines, and registers them with the PumpService. */
  async constructPump(app: BSPumpApplication): Promise<void> {
    await this.loadModules();
    const svc = app.pumpService;
    this.object([], ["connections", "lookups", "pipelines"]);
    for (let i = 0; i < this.list(["connections"]); i++) {
      const path = ["connections", i];
      svc.addConnection(this.construct(path, Connection, "connection", (ctor, def) => (ctor as typeof Connection).construct(app, def)));
    }
    for (let i = 0; i < this.list(["lookups"]); i++) {
      const path = ["lookups", i];
      svc.addLookup(this.construct(path, Lookup, "lookup", (ctor, def) => (ctor as typeof Lookup).construct(app, def)));
    }
    const count = this.list(["pipelines"]);
    if (count === 0) this.fail([], "the definition has no pipelines");
    for (let i = 0; i < count; i++) {
      const path = ["pipelines", i];
      const entry = this.object(path, ["id", "config", "sources", "processors", "sink"]);
      if (typeof entry.id !== "string" || entry.id === "") this.fail(path, "each pipeline needs an 'id'");
      const pipeline = new Pipeline(app, entry.id, { config: entry.config as ConfigInput | undefined, configOrigin: this.where([...path, "config"]) });
      const sourceCount = this.list([...path, "sources"]);
      if (sourceCount === 0) this.fail(path, `pipeline '${entry.id}' needs at least one source`);
      for (let s = 0; s < sourceCount; s++) {
        const sp = [...path, "sources", s];
        const source = this.construct(sp, Source, "source", (ctor, def) => (ctor as typeof Source).construct(app, pipeline, def));
        if (this.value([...sp, "trigger"]) !== undefined) {
          if (!(source instanceof TriggerSource)) this.fail([...sp, "trigger"], `${source.constructor.name} is not a TriggerSource; it takes no trigger`);
          source.on(this.trigger(app, [...sp, "trigger"]));
        }
        pipeline.setSource(source);
      }
      for (let p = 0; p < this.list([...path, "processors"]); p++) {
        const pp = [...path, "processors", p];
        pipeline.appendProcessor(this.construct(pp, ProcessorBase, "processor", (ctor, def) => (ctor as typeof ProcessorBase).construct(app, pipeline, def)));
      }
      if (this.value([...path, "sink"]) === undefined) this.fail(path, `pipeline '${entry.id}' needs a 'sink'`);
      pipeline.appendProcessor(this.construct([...path, "sink"], ProcessorBase, "sink", (ctor, def) => (ctor as typeof ProcessorBase).construct(app, pipeline, def)));
      svc.addPipeline(pipeline);
    }
  }
}

/** True for file names the builder reads (YAML or JSON). */
export function isDefinitionFile(path: string): boolean {
  return [".yaml", ".yml", ".json"].includes(extname(path).toLowerCase());
}
