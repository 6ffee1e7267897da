import { ConfigError, ConfigErrors } from "./errors.js";
import { rememberSecret } from "./preview.js";
import { boolWord, splitList, textEncodingName, type Config, type ConfigInput, type ConfigKey, type ConfigSpec, type ConfigType, type ConfigValue, type PassesConfigThrough } from "./config.js";

/*
 * From declared keys and given values to a component's validated configuration: the one place
 * values are converted and checked, for INI files, YAML declarations and constructor options alike.
 */

function convert(value: ConfigValue, spec: ConfigKey, where: () => string): ConfigValue {
  const bad = (expected: string): never => {
    const shown = JSON.stringify(value);
    // A value of megabytes would make a message nobody can read.
    const got = shown.length > 80 ? `${shown.slice(0, 60)}… (${shown.length} characters)` : shown;
    throw new ConfigError(`${where()}: expected ${expected}, got ${got}`);
  };
  switch (spec.type) {
    case "string": {
      const s = Array.isArray(value) ? value.join("\n") : String(value);
      if (spec.choices && !spec.choices.includes(s)) bad(`one of ${spec.choices.map((c) => `'${c}'`).join(", ")}`);
      return s;
    }
    case "int": {
      // Beyond 2^53 an integer is no longer exact (a 50-million-digit value would be Infinity).
      const n = typeof value === "number" ? value : typeof value === "string" && /^\s*[+-]?\d{1,16}\s*$/.test(value) ? Number.parseInt(value, 10) : NaN;
      if (!Number.isSafeInteger(n)) return bad("an integer");
      return inRange(n, spec, bad);
    }
    case "float": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (!Number.isFinite(n)) return bad("a number");
      return inRange(n, spec, bad);
    }
    case "bool": {
      if (typeof value === "boolean") return value;
      if (typeof value === "number" && (value === 0 || value === 1)) return value === 1;
      if (typeof value === "string") {
        const word = boolWord(value);
        if (word !== null) return word;
      }
      return bad("a boolean (yes/no, true/false, on/off, 1/0)");
    }
    case "encoding": {
      const s = String(value).trim();
      if (s !== "" && textEncodingName(s) === null) bad("a text encoding (utf-8, latin1, utf-16le, windows-1250, …)");
      return s;
    }
    case "list": {
      if (Array.isArray(value)) return value.map(String);
      if (typeof value === "string") return splitList(value);
      return bad("a list (one item per line, or comma-separated)");
    }
  }
}

function inRange(n: number, spec: ConfigKey, bad: (expected: string) => never): number {
  const { min, max } = spec;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    bad(min !== undefined && max !== undefined ? `a number from ${min} to ${max}` : min !== undefined ? `a number >= ${min}` : `a number <= ${max}`);
  }
  return n;
}

/**
 * Reads the declared keys of a section that no single component owns (`[general]`, `[web]`):
 * each value converted and checked, errors naming file and line. Other keys are left alone.
 */
export function checkSection(config: Config, section: string, spec: ConfigSpec): Record<string, ConfigValue> {
  const values: Record<string, ConfigValue> = {};
  for (const [key, keySpec] of Object.entries(spec)) {
    const entry = config.entries(section).get(key) ?? config.defaultEntries().get(key);
    if (entry !== undefined && entry.value !== "") values[key] = convert(entry.value, keySpec, () => `${entry.file}:${entry.line}: [${section}] key '${key}'`);
    else if (keySpec.default !== undefined) values[key] = keySpec.default;
  }
  return values;
}

/**
 * Merges the specs of a class chain: the most-derived class that declares a key wins,
 * as ASAB walks the MRO.
 */
export function mergedSpec(ctor: Function): Record<string, ConfigKey> {
  const merged: Record<string, ConfigKey> = {};
  for (let c: Function | null = ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function | null) {
    if (Object.prototype.hasOwnProperty.call(c, "ConfigDefaults")) {
      const spec = (c as unknown as { ConfigDefaults: ConfigSpec }).ConfigDefaults;
      for (const [key, value] of Object.entries(spec)) if (!(key in merged)) merged[key] = value;
    }
  }
  return merged;
}

/** The key names a component's config answers to, per getter: what typed access is checked against. */
export interface ConfigKeyNames {
  string: string;
  int: string;
  float: string;
  bool: string;
  list: string;
  any: string;
}

type KeyOfType<S extends ConfigSpec, T extends ConfigType> = { [K in keyof S]: S[K] extends { readonly type: T } ? K : never }[keyof S] & string;

/**
 * The key names of a declaration written as a literal (`const CONFIG = {...} satisfies
 * ConfigSpec`), per getter: with `declare readonly config: TypedConfig<typeof CONFIG>`,
 * `getInt("bufer_size")`, or `getInt` of a string key, does not compile. Types only.
 */
export type KeyNamesOf<S extends ConfigSpec> = {
  string: KeyOfType<S, "string" | "encoding">;
  int: KeyOfType<S, "int">;
  float: KeyOfType<S, "float" | "int">;
  bool: KeyOfType<S, "bool">;
  list: KeyOfType<S, "list">;
  any: keyof S & string;
};

/** A component's config, typed by its declaration (see KeyNamesOf). */
export type TypedConfig<S extends ConfigSpec> = ResolvedConfig<KeyNamesOf<S>>;

/**
 * A component's configuration after merging and validation: every value has its declared type.
 * `K` says which keys each getter accepts (any key, unless the component declares
 * `config: TypedConfig<typeof CONFIG>`).
 */
export class ResolvedConfig<K extends ConfigKeyNames = ConfigKeyNames> {
  constructor(
    private readonly values: Record<string, ConfigValue>,
    private readonly spec: Record<string, ConfigKey>,
    readonly section: string,
    /** Undeclared keys of a class with `ConfigPassThrough`, as given. */
    readonly passThrough: Readonly<Record<string, string>> = {},
    private readonly given: ReadonlySet<string> = new Set(),
  ) {}

  /** True when no config file, section or option set this key (its value is the declared default). */
  isDefault(key: K["any"]): boolean {
    return !this.given.has(key);
  }

  private value(key: string): ConfigValue {
    if (!(key in this.spec)) throw new Error(`Config key '${key}' is not declared in ConfigDefaults of [${this.section}]`);
    return this.values[key]!;
  }

  has(key: string): boolean {
    return key in this.values;
  }

  getString(key: K["string"]): string {
    return String(this.value(key));
  }

  getInt(key: K["int"]): number {
    return this.value(key) as number;
  }

  getFloat(key: K["float"]): number {
    return this.value(key) as number;
  }

  getBool(key: K["bool"]): boolean {
    return this.value(key) as boolean;
  }

  getList(key: K["list"]): string[] {
    return [...(this.value(key) as string[])];
  }

  /** The values with secrets masked: for logs, describe() and the web API. */
  toJSON(): Record<string, ConfigValue> {
    const out: Record<string, ConfigValue> = {};
    for (const [key, value] of Object.entries(this.values)) out[key] = this.spec[key]?.secret && value !== "" ? "***" : value;
    return out;
  }
}

/**
 * Resolves a component's configuration: declared defaults, then the INI section, then the options
 * given in code (or by the YAML builder, whose `origin` names the file and line).
 */
export function resolveConfig(
  ctor: Function,
  config: Config,
  section: string,
  options: ConfigInput | undefined,
  origin = "constructor options",
): ResolvedConfig {
  const spec = mergedSpec(ctor);
  const values: Record<string, ConfigValue> = {};
  const passes = (ctor as PassesConfigThrough).ConfigPassThrough !== undefined;
  const passThrough: Record<string, string> = {};
  const given = new Set<string>();
  const allowed = () => {
    const keys = Object.keys(spec);
    return keys.length ? `allowed keys: ${keys.join(", ")}` : "this component takes no configuration";
  };
  for (const [key, keySpec] of Object.entries(spec)) {
    if (keySpec.default !== undefined) values[key] = keySpec.default;
  }
  config.claim(section);
  // Every problem of the component is reported, not only the first (`bspump check` lists them all).
  const errors: ConfigError[] = [];
  const take = (key: string, value: ConfigValue, keySpec: ConfigKey, where: () => string) => {
    given.add(key);
    try {
      values[key] = convert(value, keySpec, where);
      if (keySpec.secret && typeof values[key] === "string") rememberSecret(values[key]);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(e);
    }
  };
  for (const [key, entry] of config.defaultEntries()) {
    const keySpec = spec[key];
    if (keySpec) take(key, entry.value, keySpec, () => `${entry.file}:${entry.line}: [DEFAULT] key '${key}'`);
  }
  for (const [key, entry] of config.entries(section)) {
    const keySpec = spec[key];
    if (!keySpec) {
      if (entry.file === "<defaults>") continue;
      if (passes) passThrough[key] = entry.value;
      else errors.push(new ConfigError(`${entry.file}:${entry.line}: [${section}] unknown key '${key}' for ${ctor.name}; ${allowed()}`));
      continue;
    }
    take(key, entry.value, keySpec, () => `${entry.file}:${entry.line}: [${section}] key '${key}'`);
  }
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    const keySpec = spec[key];
    if (!keySpec && passes) passThrough[key] = Array.isArray(value) ? value.join(",") : String(value);
    else if (!keySpec) errors.push(new ConfigError(`${origin}: unknown config key '${key}' for ${ctor.name} [${section}]; ${allowed()}`));
    else take(key, value, keySpec, () => `${origin}: [${section}] key '${key}'`);
  }
  for (const [key, keySpec] of Object.entries(spec)) {
    if (keySpec.required && (values[key] === undefined || values[key] === "")) {
      errors.push(new ConfigError(`[${section}] missing required key '${key}' for ${ctor.name} (${keySpec.doc})`));
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new ConfigErrors(errors);
  return new ResolvedConfig(values, spec, section, passThrough, given);
}
