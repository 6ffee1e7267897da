/**
 * Metrics with BSPump's names, fields and tags (e.g. `bspump.pipeline` with `event.in`, tagged by
 * `pipeline`). Collection is pull-based: hot paths bump plain numbers and the service reads them
 * when asked, so counting an event costs an integer increment.
 */
export type MetricType = "counter" | "gauge";
export type Tags = Readonly<Record<string, string>>;

export interface MetricSample {
  name: string;
  type: MetricType;
  tags: Tags;
  fields: Readonly<Record<string, number>>;
  help?: string;
}

export type MetricCollector = () => Iterable<MetricSample>;

/** A named set of monotonically increasing fields. */
export class Counter {
  readonly values: Record<string, number> = {};
  constructor(
    readonly name: string,
    readonly tags: Tags,
    fields: readonly string[] = [],
    readonly help?: string,
  ) {
    for (const f of fields) this.values[f] = 0;
  }
  add(field: string, n = 1): void {
    this.values[field] = (this.values[field] ?? 0) + n;
  }
  sample(): MetricSample {
    return { name: this.name, type: "counter", tags: this.tags, fields: this.values, help: this.help };
  }
}

/** A named set of fields that go up and down. */
export class Gauge {
  readonly values: Record<string, number> = {};
  constructor(
    readonly name: string,
    readonly tags: Tags,
    readonly help?: string,
  ) {}
  set(field: string, value: number): void {
    this.values[field] = value;
  }
  sample(): MetricSample {
    return { name: this.name, type: "gauge", tags: this.tags, fields: this.values, help: this.help };
  }
}

export class MetricsService {
  private readonly collectors = new Set<MetricCollector>();

  createCounter(name: string, tags: Tags = {}, fields: readonly string[] = [], help?: string): Counter {
    const counter = new Counter(name, tags, fields, help);
    this.addCollector(() => [counter.sample()]);
    return counter;
  }

  createGauge(name: string, tags: Tags = {}, help?: string): Gauge {
    const gauge = new Gauge(name, tags, help);
    this.addCollector(() => [gauge.sample()]);
    return gauge;
  }

  addCollector(collector: MetricCollector): MetricCollector {
    this.collectors.add(collector);
    return collector;
  }

  removeCollector(collector: MetricCollector): void {
    this.collectors.delete(collector);
  }

  collect(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const collector of this.collectors) for (const sample of collector()) out.push(sample);
    return out;
  }

  /** Prometheus text exposition format (version 0.0.4). */
  toPrometheus(): string {
    return toPrometheus(this.collect());
  }
}

/** Samples in the Prometheus text format (one family per name and field). */
export function toPrometheus(samples: Iterable<MetricSample>): string {
  const byName = new Map<string, { type: MetricType; help?: string; lines: string[] }>();
  for (const sample of samples) {
    for (const [field, value] of Object.entries(sample.fields)) {
      let name = promName(`${sample.name}_${field}`);
      if (sample.type === "counter" && !name.endsWith("_total")) name += "_total";
      let family = byName.get(name);
      if (!family) {
        family = { type: sample.type, help: sample.help, lines: [] };
        byName.set(name, family);
      }
      family.lines.push(`${name}${promLabels(sample.tags)} ${promNumber(value)}`);
    }
  }
  let text = "";
  for (const [name, family] of byName) {
    text += `# HELP ${name} ${escapeHelp(family.help ?? name.replace(/_/g, " "))}\n# TYPE ${name} ${family.type}\n`;
    text += family.lines.join("\n") + "\n";
  }
  return text;
}

function promName(raw: string): string {
  const name = raw.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function promLabels(tags: Tags): string {
  const entries = Object.entries(tags);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${promName(k)}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function promNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
