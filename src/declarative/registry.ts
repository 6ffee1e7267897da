import { Connection, Generator, Lookup, mergedSpec, Pipeline, ProcessorBase, Sink, Source, type ConfigKey } from "../core/index.js";
import * as common from "../common/index.js";
import * as file from "../file/index.js";
import * as avro from "../avro/index.js";
import * as xml from "../xml/index.js";
import * as lookup from "../lookup/index.js";
import * as random from "../random/index.js";
import * as elasticsearch from "../elasticsearch/index.js";
import * as analyzer from "../analyzer/index.js";
import * as anomaly from "../anomaly/index.js";
import * as socket from "../socket/index.js";
import * as http from "../http/index.js";
import * as parquet from "../parquet/index.js";
import * as slack from "../slack/index.js";
import * as kafka from "../kafka/index.js";
import * as amqp from "../amqp/index.js";
import * as mysql from "../mysql/index.js";
import * as postgresql from "../postgresql/index.js";
import * as influxdb from "../influxdb/index.js";
import * as subprocess from "../subprocess/index.js";
import * as mail from "../mail/index.js";
import * as ftp from "../ftp/index.js";
import * as ssh from "../ssh/index.js";
import * as ldap from "../ldap/index.js";
import * as matrix from "../matrix/index.js";
import * as filter from "../filter/index.js";
import * as crypto from "../crypto/index.js";
import * as integrity from "../integrity/index.js";
import * as declarative from "./components.js";

export type ComponentKind = "source" | "processor" | "sink" | "generator" | "connection" | "lookup" | "pipeline";

export interface RegisteredComponent {
  /** `family.ClassName`, e.g. `file.FileLineSource`. */
  name: string;
  family: string;
  kind: ComponentKind;
  ctor: Function;
}

/** Families whose exported components the YAML builder and `bspump components` know by name. */
const FAMILIES: Record<string, Record<string, unknown>> = { common, file, avro, xml, lookup, random, elasticsearch, analyzer, socket, http, parquet, slack, kafka, amqp, mysql, influxdb, subprocess, mail, ftp, ssh, ldap, matrix, anomaly, filter, crypto, integrity, declarative, postgresql };

/** The family names (`file`, `kafka`, …) a definition's `module:` may name. */
export function families(): ReadonlySet<string> {
  return new Set(Object.keys(FAMILIES));
}

function inherits(ctor: Function, base: Function): boolean {
  return ctor === base || ctor.prototype instanceof base;
}

function kindOf(ctor: Function): ComponentKind | null {
  if (inherits(ctor, Source)) return "source";
  if (inherits(ctor, Generator)) return "generator";
  if (inherits(ctor, Sink)) return "sink";
  if (inherits(ctor, ProcessorBase)) return "processor";
  if (inherits(ctor, Connection)) return "connection";
  if (inherits(ctor, Lookup)) return "lookup";
  if (inherits(ctor, Pipeline)) return "pipeline";
  return null;
}

let registry: Map<string, RegisteredComponent> | null = null;

/** Every component of the registered families, by `family.ClassName`. */
export function components(): Map<string, RegisteredComponent> {
  if (registry) return registry;
  registry = new Map();
  for (const [family, exports] of Object.entries(FAMILIES)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== "function" || name !== value.name) continue;
      const kind = kindOf(value);
      if (!kind) continue;
      registry.set(`${family}.${name}`, { name: `${family}.${name}`, family, kind, ctor: value });
    }
  }
  return registry;
}

/**
 * Finds a component by `family.ClassName`, `bspump.family.ClassName`, or BSPump's `module` +
 * `class` pair. Throws with the close matches when it is unknown.
 */
export function findComponent(name: string): RegisteredComponent {
  const key = name.replace(/^bspump\./, "");
  const found = components().get(key);
  if (found) return found;
  const wanted = key.toLowerCase();
  const similar = [...components().keys()]
    .map((k) => ({ k, d: editDistance(k.toLowerCase(), wanted) }))
    .filter(({ d }) => d <= Math.max(3, wanted.length / 4))
    .sort((a, b) => a.d - b.d)
    .map(({ k }) => k);
  throw new Error(`unknown component '${name}'${similar.length ? `; did you mean ${similar.slice(0, 5).join(", ")}?` : ""} (\`bspump components\` lists them all)`);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The config declaration of a component, most-derived keys first. */
export function configOf(component: RegisteredComponent): Record<string, ConfigKey> {
  return mergedSpec(component.ctor);
}

const SHARING_TEXT: Record<string, string> = {
  single: "single-instance: runs in worker 0 only",
  shared: "shared: every worker runs it, the input is split among them",
  partitioned: "partitioned: every worker runs it; a key always reaches the same worker",
  inherited: "runs wherever the pipelines feeding it run",
};

/** With `[bspump] workers` (docs/workers.md): what a source does, and the components that need partitioned input. */
function workersLine(ctor: Function): string {
  const c = ctor as { WorkerSharing?: string; PartitionedInput?: boolean };
  if (c.WorkerSharing !== undefined) return `Worker processes: ${SHARING_TEXT[c.WorkerSharing] ?? c.WorkerSharing}.`;
  if (c.PartitionedInput === true) return "Worker processes: keeps state per key; its pipeline runs in every worker only on partitioned input (Kafka), else in worker 0 only.";
  return "";
}

/** Markdown reference of every component and its config keys, generated from ConfigDefaults. */
export function componentsMarkdown(): string {
  const byFamily = new Map<string, RegisteredComponent[]>();
  for (const c of components().values()) byFamily.set(c.family, [...(byFamily.get(c.family) ?? []), c]);
  let out = "# Component reference\n\nGenerated from each component's `ConfigDefaults` by `bspump components --markdown`; do not edit.\n";
  for (const [family, list] of [...byFamily].sort(([a], [b]) => a.localeCompare(b))) {
    out += `\n## ${family}\n`;
    for (const c of list.sort((a, b) => a.name.localeCompare(b.name))) {
      out += `\n### \`${c.name}\` (${c.kind})\n`;
      const workers = workersLine(c.ctor);
      if (workers) out += `\n${workers}\n`;
      const spec = Object.entries(configOf(c));
      if (spec.length === 0) {
        out += "\nNo configuration.\n";
        continue;
      }
      out += "\n| key | type | default | description |\n| --- | --- | --- | --- |\n";
      for (const [key, k] of spec) {
        const def = k.required ? "*required*" : k.secret ? "(secret)" : `\`${JSON.stringify(k.default)}\``;
        const range = k.min !== undefined && k.max !== undefined ? ` (${k.min} to ${k.max})` : k.min !== undefined ? ` (≥ ${k.min})` : k.max !== undefined ? ` (≤ ${k.max})` : "";
        const doc = k.doc + range + (k.choices ? ` (one of ${k.choices.map((x) => `\`${x}\``).join(", ")})` : "");
        out += `| \`${key}\` | ${k.type} | ${def} | ${doc.replace(/\|/g, "\\|")} |\n`;
      }
    }
  }
  return out;
}
