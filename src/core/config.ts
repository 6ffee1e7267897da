import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./errors.js";

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
    const b = boolWord(value);
    if (b === null) throw new ConfigError(`[${section}] ${key}: expected a boolean (yes/no, true/false, on/off, 1/0), got ${JSON.stringify(value)}`);
    return b;
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

const TRUE_WORDS = new Set(["1", "yes", "true", "on"]);
const FALSE_WORDS = new Set(["0", "no", "false", "off"]);

/** configparser's boolean words: true, false, or null for anything else. */
export function boolWord(value: string): boolean | null {
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : null;
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
