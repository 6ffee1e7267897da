import type { Application } from "./application.js";
import type { ConfigInput, ConfigSpec } from "./config.js";
import { resolveConfig, type ResolvedConfig } from "./resolve.js";

/** Options every component constructor takes last, as BSPump's `id=None, config=None`. */
export interface ComponentOptions {
  /** Defaults to the class name, as in BSPump; give one when a pipeline holds two of a class. */
  id?: string;
  /** Overrides the config file, key by key. */
  config?: ConfigInput;
  /** Where `config` came from, for error messages (the YAML builder passes file and line). */
  configOrigin?: string;
}

/** One entry of a definition (YAML builder): what `construct` receives. */
export interface ComponentDefinition {
  id?: string;
  config?: ConfigInput;
  args?: Readonly<Record<string, unknown>>;
  origin?: string;
}

/**
 * The constructor options a definition gives (`construct`): its `args` under their option names —
 * BSPump's keyword `request_body` is the option `requestBody` — then its config and where it came
 * from. `args.connection` is left out when the class takes its connection positionally.
 */
export function definitionOptions(definition: ComponentDefinition, connectionIsPositional: boolean): ComponentOptions & Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definition.args ?? {})) {
    if (key === "connection" && connectionIsPositional) continue;
    options[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return { ...options, config: definition.config, configOrigin: definition.origin };
}

/**
 * Base of everything configurable (BSPump's asab.ConfigObject): an id, the application, and a
 * validated config built from `ConfigDefaults` of the class chain, the INI section and the options.
 */
export abstract class ConfigObject {
  static ConfigDefaults: ConfigSpec = {};
  readonly id: string;
  readonly config: ResolvedConfig;

  constructor(
    readonly app: Application,
    section: (id: string) => string,
    options: ComponentOptions = {},
  ) {
    this.id = options.id ?? this.constructor.name;
    this.config = resolveConfig(this.constructor, app.config, section(this.id), options.config, options.configOrigin);
  }

  /** The application's clock, in seconds since the epoch (tests can replace it). */
  time(): number {
    return this.app.time();
  }
}
