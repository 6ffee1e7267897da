/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (used by the tests instead of a
 * dependency): it throws on anything a Prometheus server would reject.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheus(text: string): Map<string, PromFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  let current: PromFamily | null = null;
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      let fam = families.get(name);
      if (!fam) {
        if (seen.has(name)) throw new Error(`family ${name} is not contiguous, ${where}`);
        fam = { name, type: "untyped", help: "", samples: [] };
        families.set(name, fam);
        seen.add(name);
      } else if (fam.samples.length > 0) throw new Error(`${kind} after samples, ${where}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`bad type, ${where}`);
        fam.type = rest;
      } else {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP, ${where}`);
        fam.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      current = fam;
      return;
    }
    let pos = 0;
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`bad sample, ${where}`);
    const name = nameMatch[0];
    pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === "{") {
      pos++;
      while (line[pos] !== "}") {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
        if (!lm || !LABEL.test(lm[1]!)) throw new Error(`bad label, ${where}`);
        pos += lm[0].length;
        let value = "";
        for (;;) {
          const c = line[pos];
          if (c === undefined) throw new Error(`unterminated label value, ${where}`);
          if (c === '"') break;
          if (c === "\\") {
            const n = line[pos + 1];
            if (n === "n") value += "\n";
            else if (n === "\\" || n === '"') value += n;
            else throw new Error(`bad escape, ${where}`);
            pos += 2;
          } else {
            value += c;
            pos++;
          }
        }
        pos++;
        if (lm[1]! in labels) throw new Error(`duplicate label, ${where}`);
        labels[lm[1]!] = value;
        if (line[pos] === ",") pos++;
        else if (line[pos] !== "}") throw new Error(`bad label separator, ${where}`);
      }
      pos++;
    }
    const rest = line.slice(pos);
    const vm = /^ (\S+)( -?\d+)?$/.exec(rest);
    if (!vm) throw new Error(`bad value, ${where}`);
    const raw = vm[1]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : raw === "NaN" ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== "NaN") throw new Error(`bad number, ${where}`);
    let fam = families.get(name);
    if (!fam) {
      if (seen.has(name)) throw new Error(`family ${name} is not contiguous, ${where}`);
      fam = { name, type: "untyped", help: "", samples: [] };
      families.set(name, fam);
      seen.add(name);
    } else if (current !== fam) throw new Error(`family ${name} is not contiguous, ${where}`);
    current = fam;
    if (fam.type === "counter" && value < 0) throw new Error(`negative counter, ${where}`);
    const key = JSON.stringify(labels);
    if (fam.samples.some((s) => JSON.stringify(s.labels) === key)) throw new Error(`duplicate series, ${where}`);
    fam.samples.push({ name, labels, value });
  });
  return families;
}
