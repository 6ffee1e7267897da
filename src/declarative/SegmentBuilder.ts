import { readFileSync } from "node:fs";
import {
  ConfigError,
  ConfigErrors,
  ConfigObject,
  dependency,
  Lookup,
  ProcessorBase,
  type BSPumpApplication,
  type ComponentDefinition,
  type ComponentOptions,
  type ConfigInput,
  type ConfigSpec, type TypedConfig,
  type Pipeline,
} from "../core/index.js";
import { glob } from "../file/glob.js";
import { DeclarativeGenerator } from "./DeclarativeGenerator.js";
import { DeclarativeProcessor } from "./DeclarativeProcessor.js";
import { findComponent } from "./registry.js";

const yaml = dependency<typeof import("yaml")>("yaml");

type ProcessorClass = { construct(app: BSPumpApplication, pipeline: Pipeline, definition: ComponentDefinition): ProcessorBase };

const CONFIG = {
  path: { type: "string", default: "./etc/processors/*", doc: "Glob of the segment definition files" },
} satisfies ConfigSpec;

/**
 * BSPump's SegmentBuilder: adds processors (and lookups) to existing pipelines from a folder of
 * definition files, `[SegmentBuilder] path` (a glob; `.yml`/`.yaml` are YAML, the rest JSON):
 *
 * ```yaml
 * pipeline_id: AnalyticsPipeline
 * processor: |
 *   ---
 *   !DICT {with: !EVENT, set: {local: !IP.INSUBNET {what: !ITEM EVENT ip, subnet: 192.168.0.0/16}}}
 * ```
 * The keyword `processor` makes a DeclarativeProcessor, `generator` a DeclarativeGenerator
 * (`registerProcessor` adds keywords); `class: family.ClassName` any component, with `config`,
 * `args` and `id`. A definition with `class` ending in `Lookup` is a lookup, created first. Each
 * processor goes just before the pipeline's sink, or before `insert_before` (a processor id).
 * Files are read in name order; every error of every file is reported at once.
 */
export class SegmentBuilder extends ConfigObject {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly keywords = new Map<string, ProcessorClass>([
    ["processor", DeclarativeProcessor as unknown as ProcessorClass],
    ["generator", DeclarativeGenerator as unknown as ProcessorClass],
  ]);

  constructor(app: BSPumpApplication, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, () => "SegmentBuilder", { ...options, id: "SegmentBuilder" });
  }

  /** Maps a definition keyword to a processor class (BSPump's `register_processor`). */
  registerProcessor(keyword: string, cls: ProcessorClass): void {
    this.keywords.set(keyword, cls);
  }

  /** Reads the definitions and builds lookups, then processors, into the application's pipelines. */
  async constructSegment(app: BSPumpApplication): Promise<ProcessorBase[]> {
    const files = (await glob(this.config.getString("path"))).sort();
    const errors: ConfigError[] = [];
    const definitions: { file: string; def: Record<string, unknown> }[] = [];
    for (const file of files) {
      try {
        const text = readFileSync(file, "utf8");
        const def = /\.ya?ml$/i.test(file) ? (yaml().parse(text) as unknown) : (JSON.parse(text) as unknown);
        if (def === null || typeof def !== "object" || Array.isArray(def)) throw new Error("a definition is a mapping");
        definitions.push({ file, def: def as Record<string, unknown> });
      } catch (e) {
        errors.push(new ConfigError(`${file}: ${(e as Error).message.split("\n")[0]}`));
      }
    }
    const isLookup = (d: Record<string, unknown>): boolean => d.lookup !== undefined || String(d.class ?? "").endsWith("Lookup");
    const attempt = <T>(file: string, step: () => T): T | undefined => {
      try {
        return step();
      } catch (e) {
        if (e instanceof ConfigErrors) errors.push(...e.errors);
        else if (e instanceof ConfigError && /^[^\n]*?:\d+: /.test(e.message)) errors.push(...((e as { errors?: ConfigError[] }).errors ?? [e]));
        else errors.push(new ConfigError(`${file}: ${(e as Error).message}`));
        return undefined;
      }
    };
    for (const { file, def } of definitions.filter((d) => isLookup(d.def))) {
      attempt(file, () => {
        if (def.lookup !== undefined) throw new ConfigError("the 'lookup' keyword makes a MongoDBLookup in BSPump, which this port does not have; give a 'class'");
        const ctor = findComponent(String(def.class)).ctor as unknown as typeof Lookup;
        app.pumpService.addLookup(ctor.construct(app, this.definition(file, def)));
      });
    }
    const built: ProcessorBase[] = [];
    for (const { file, def } of definitions.filter((d) => !isLookup(d.def))) {
      attempt(file, () => {
        const pipeline = app.pumpService.locatePipeline(String(def.pipeline_id ?? ""));
        if (!pipeline) throw new ConfigError(`pipeline_id: no pipeline '${String(def.pipeline_id ?? "")}'`);
        const keyword = [...this.keywords.keys()].find((k) => def[k] !== undefined);
        let cls: ProcessorClass;
        const definition = this.definition(file, def);
        if (keyword) {
          cls = this.keywords.get(keyword)!;
          definition.args = { ...definition.args, declaration: String(def[keyword]) };
        } else if (typeof def.class === "string") cls = findComponent(def.class).ctor as unknown as ProcessorClass;
        else throw new ConfigError(`needs one of ${[...this.keywords.keys()].join(", ")} or a 'class'`);
        const processor = cls.construct(app, pipeline, definition);
        const before = typeof def.insert_before === "string" ? def.insert_before : pipeline.sink?.id;
        if (before === undefined) pipeline.appendProcessor(processor);
        else if (!pipeline.insertBefore(before, processor)) throw new ConfigError(`insert_before: no processor '${before}' in pipeline '${pipeline.id}'`);
        built.push(processor);
      });
    }
    if (errors.length > 0) throw new ConfigErrors(errors);
    return built;
  }

  private definition(file: string, def: Record<string, unknown>): ComponentDefinition {
    return {
      id: typeof def.id === "string" ? def.id : undefined,
      config: def.config as ConfigInput | undefined,
      args: (def.args as Record<string, unknown> | undefined) ?? {},
      origin: file,
    };
  }
}
