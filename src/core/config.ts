import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError, ConfigErrors } from "./errors.js";

/**
 * Configuration, as BSPump users know it: ASAB-style INI files read the way Python's configparser
 * reads them, merged over each component's declared defaults and under its constructor options.
 *
 * Every configurable class declares its keys once, in a static `ConfigDefaults` of type ConfigSpec.
 * The INI reader, the YAML builder, validation messages and the generated docs all read that one
 * declaration.
 */

export type ConfigType = "string" | "int" | "float" | "bool" | "list" | "encoding";
export type ConfigValue = string | number | boolean | string[];

export interface ConfigKey {
  readonly type: ConfigType;
  /** Omit only together with `required: true`. */
  readonly default?: ConfigValue;
  /** One line for the generated docs and for error messages. */
  readonly doc: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  /** Kept out of logs and the web API (passwords, tokens). */
  readonly secret?: boolean;
  /** Bounds of an int or float key, inclusive. */
  readonly min?: number;
  readonly max?: number;
}

export type ConfigSpec = Readonly<Record<string, ConfigKey>>;

/**
 * A class whose undeclared keys go on to a client library (BSPump hands every Kafka key to
 * librdkafka) declares `static ConfigPassThrough = "<one line: where they go>"`; such keys are
 * kept as strings in `ResolvedConfig.passThrough` instead of being refused.
 */
export interface PassesConfigThrough {
  ConfigPassThrough?: string;
}

/** Options passed in code or from a YAML definition; `undefined` means "not given". */
export type ConfigInput = Readonly<Record<string, ConfigValue | undefined>>;

interface IniEntry {
  value: string;
  file: string;
  line: number;
}

const TRUE_WORDS = new Set(["1", "yes", "true", "on"]);
const FALSE_WORDS = new Set(["0", "no", "false", "off"]);

/** An INI configuration compatible with Python's configparser as ASAB configures it. */
export class Config {
  private readonly sections = new Map<string, Map<string, IniEntry>>();
  private readonly defaults = new Map<string, IniEntry>();
  /** Sections that some component or service has read; the rest are reported as unused. */
  private readonly claimed = new Set<string>();
  /** Where each section was first written (`file:line`), for messages about a whole section. */
  private readonly sectionOrigins = new Map<string, string>();
  /** Files being loaded, outermost first: an include of one of them would never end. */
  private readonly loading: string[] = [];
  readonly files: string[] = [];

  static fromString(text: string, fileName = "<string>", env: NodeJS.ProcessEnv = process.env): Config {
    const config = new Config();
    config.loadString(text, fileName, env);
    return config;
  }

  loadFile(path: string, env: NodeJS.ProcessEnv = process.env, includedFrom?: string): void {
    const from = includedFrom ? `${includedFrom}: [general] include: ` : "";
    if (this.loading.includes(resolve(path))) throw new ConfigError(`${from}'${path}' includes itself (${[...this.loading, resolve(path)].join(" → ")})`);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ConfigError(`${from}Cannot read config file '${path}': ${(e as Error).message}`);
    }
    this.files.push(path);
    this.loading.push(resolve(path));
    try {
      this.loadString(text, path, env);
      const include = this.sections.get("general")?.get("include");
      if (include !== undefined) {
        // Mark as consumed before recursing so an include of an include is not read twice.
        this.sections.get("general")?.delete("include");
        for (const name of splitList(include.value)) this.loadFile(resolve(dirname(path), name), env, `${include.file}:${include.line}`);
      }
    } finally {
      this.loading.pop();
    }
  }

  loadString(text: string, fileName: string, env: NodeJS.ProcessEnv = process.env): void {
    const lines = text.split(/\r?\n/);
    let section: Map<string, IniEntry> | undefined;
    let sectionName = "";
    let current: { entry: IniEntry; indent: number; pendingBlank: number } | undefined;
    const seenInThisFile = new Set<string>();
    const fail = (line: number, msg: string): never => {
      throw new ConfigError(`${fileName}:${line}: ${msg}`);
    };

    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const lineNo = i + 1;
      const trimmed = raw.trim();
      const indent = raw.length - raw.trimStart().length;
      if (trimmed === "") {
        if (current) current.pendingBlank++;
        continue;
      }
      if (trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
      if (current && indent > current.indent) {
        current.entry.value += "\n".repeat(current.pendingBlank + 1) + trimmed;
        current.pendingBlank = 0;
        continue;
      }
      current = undefined;
      if (trimmed.startsWith("[")) {
        const end = trimmed.lastIndexOf("]");
        if (end < 1) fail(lineNo, `malformed section header '${trimmed}'`);
        sectionName = trimmed.slice(1, end).trim();
        if (seenInThisFile.has(sectionName)) fail(lineNo, `section [${sectionName}] appears twice`);
        seenInThisFile.add(sectionName);
        if (!this.sectionOrigins.has(sectionName)) this.sectionOrigins.set(sectionName, `${fileName}:${lineNo}`);
        if (sectionName === "DEFAULT") {
          section = this.defaults;
        } else {
          section = this.sections.get(sectionName) ?? new Map();
          this.sections.set(sectionName, section);
        }
        continue;
      }
      if (!section) fail(lineNo, `'${trimmed}' comes before any [section] header`);
      const eq = raw.indexOf("=");
      const colon = raw.indexOf(":");
      const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
      if (at < 0) fail(lineNo, `expected 'key = value' or 'key: value' in [${sectionName}], got '${trimmed}'`);
      // configparser lower-cases option names; BSPump configs rely on that.
      const key = raw.slice(0, at).trim().toLowerCase();
      if (key === "") fail(lineNo, `empty key in [${sectionName}]`);
      const entry: IniEntry = { value: raw.slice(at + 1).trim(), file: fileName, line: lineNo };
      section!.set(key, entry);
      current = { entry, indent, pendingBlank: 0 };
    }
    for (const sec of [this.defaults, ...this.sections.values()]) {
      for (const [key, entry] of sec) {
        if (entry.file === fileName) entry.value = expandEnv(entry.value, env, `${fileName}:${entry.line}`, key);
      }
    }
  }

  /** Adds values programmatically, as the lowest-priority file would. */
  setDefaults(section: string, values: Record<string, string>): void {
    const target = this.sections.get(section) ?? new Map<string, IniEntry>();
    this.sections.set(section, target);
    for (const [key, value] of Object.entries(values)) {
      if (!target.has(key)) target.set(key.toLowerCase(), { value, file: "<defaults>", line: 0 });
    }
  }

  set(section: string, key: string, value: string): void {
    const target = this.sections.get(section) ?? new Map<string, IniEntry>();
    this.sections.set(section, target);
    target.set(key.toLowerCase(), { value, file: "<code>", line: 0 });
  }

  hasSection(section: string): boolean {
    return this.sections.has(section);
  }

  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  get(section: string, key: string): string | undefined {
    return (this.sections.get(section)?.get(key) ?? this.defaults.get(key))?.value;
  }

  getBool(section: string, key: string, fallback: boolean): boolean {
    const value = this.get(section, key);
    if (value === undefined) return fallback;
    return convert(value, { type: "bool", doc: "" }, () => `[${section}] ${key}`) as boolean;
  }

  /** Entries written in the section itself, with where each came from. */
  entries(section: string): ReadonlyMap<string, IniEntry> {
    return this.sections.get(section) ?? new Map<string, IniEntry>();
  }

  /** Entries of [DEFAULT], which apply to every section that declares the key. */
  defaultEntries(): ReadonlyMap<string, IniEntry> {
    return this.defaults;
  }

  /** `file:line` of the section's header, or its name when it was set in code. */
  sectionOrigin(section: string): string {
    return this.sectionOrigins.get(section) ?? `[${section}]`;
  }

  claim(section: string): void {
    this.claimed.add(section);
  }

  /** Sections under a prefix (e.g. `pipeline:`) that no component read: most often a typo in an id. */
  unclaimed(prefixes: readonly string[]): string[] {
    return this.sectionNames().filter((s) => prefixes.some((p) => s.startsWith(p)) && !this.claimed.has(s));
  }
}

function expandEnv(value: string, env: NodeJS.ProcessEnv, where: string, key: string): string {
  if (!value.includes("$")) return value;
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string | undefined) => {
    if (name === undefined) return "$";
    const found = env[name];
    if (found === undefined) throw new ConfigError(`${where}: key '${key}' refers to \${${name}}, which is not set in the environment`);
    return found;
  });
}

/** Splits a multi-line or comma-separated value into items (BSPump's getmultiline, plus commas). */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * The name Node.js or the WHATWG decoder knows `name` by, or null when neither knows it. An `encoding`
 * key is validated with it; the codec layer (src/codec/text.ts) decodes with the same answer.
 */
export function textEncodingName(name: string): string | null {
  const lower = name.trim().toLowerCase();
  if (lower === "bytes" || lower === "none") return lower;
  const node = lower === "utf-8" ? "utf8" : lower === "latin-1" || lower === "iso-8859-1" ? "latin1" : lower;
  // Buffer's hex and base64 "encodings" are not text encodings: bytes in them are not text.
  if (Buffer.isEncoding(node) && node !== "hex" && node !== "base64" && node !== "base64url") return node;
  try {
    return new TextDecoder(lower).encoding;
  } catch {
    return null;
  }
}

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
        const word = value.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
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

/** A component's configuration after merging and validation: every value has its declared type. */
export class ResolvedConfig {
  constructor(
    private readonly values: Record<string, ConfigValue>,
    private readonly spec: Record<string, ConfigKey>,
    readonly section: string,
    /** Undeclared keys of a class with `ConfigPassThrough`, as given. */
    readonly passThrough: Readonly<Record<string, string>> = {},
    private readonly given: ReadonlySet<string> = new Set(),
  ) {}

  /** True when no config file, section or option set this key (its value is the declared default). */
  isDefault(key: string): boolean {
    return !this.given.has(key);
  }

  private value(key: string): ConfigValue {
    if (!(key in this.spec)) throw new Error(`Config key '${key}' is not declared in ConfigDefaults of [${this.section}]`);
    return this.values[key]!;
  }

  has(key: string): boolean {
    return key in this.values;
  }

  getString(key: string): string {
    return String(this.value(key));
  }

  getInt(key: string): number {
    return this.value(key) as number;
  }

  getFloat(key: string): number {
    return this.value(key) as number;
  }

  getBool(key: string): boolean {
    return this.value(key) as boolean;
  }

  getList(key: string): string[] {
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
