import { ConfigError, type Application } from "../core/index.js";
import { Anomaly, type AnomalyDocument } from "./Anomaly.js";

/** A close rule: "status" (the latest symptom says `status: closed`) or seconds without a new symptom. */
export type CloseRule = "status" | number;

const rulesOf = new WeakMap<Application, Map<string, CloseRule>>();

/**
 * Parses `[GeneralAnomaly] close_rules` ("type:rule;type:rule", rule = `status` or seconds),
 * once per application; a bad rule is a ConfigError naming the section and key.
 */
export function closeRules(app: Application): Map<string, CloseRule> {
  const known = rulesOf.get(app);
  if (known) return known;
  const raw = app.config.get("GeneralAnomaly", "close_rules") ?? "default:status";
  const rules = new Map<string, CloseRule>();
  for (const part of raw.split(";")) {
    if (part.trim() === "") continue;
    const colon = part.indexOf(":");
    const type = part.slice(0, colon).trim();
    const rule = part.slice(colon + 1).trim();
    const seconds = Number(rule);
    if (colon < 1 || rule === "" || (rule !== "status" && !(Number.isFinite(seconds) && seconds >= 0))) {
      throw new ConfigError(`[GeneralAnomaly] close_rules: '${part.trim()}' is not 'type:status' or 'type:<seconds>'`);
    }
    rules.set(type, rule === "status" ? "status" : seconds);
  }
  rulesOf.set(app, rules);
  return rules;
}

/**
 * BSPump's GeneralAnomaly (TYPE "default"), used for symptoms of a type without its own class.
 * On each tick it looks at the latest symptom (by `@timestamp`): with the rule `status` the
 * anomaly closes when that symptom's `status` is "closed"; with a number of seconds, when `now`
 * is past the latest symptom's time plus that many seconds. The rule is the one of the anomaly's
 * type, else the `default` one, else `status`.
 */
export class GeneralAnomaly extends Anomaly {
  static override TYPE = "default";
  private readonly rule: CloseRule;

  constructor(app: Application, doc: AnomalyDocument) {
    super(app, doc);
    const rules = closeRules(app);
    this.rule = rules.get(doc.type) ?? rules.get("default") ?? "status";
  }

  onTick(now: number): void {
    let latest: Record<string, unknown> | null = null;
    let latestTs = -Infinity;
    for (const s of this.doc.symptoms) {
      const ts = s["@timestamp"];
      if (typeof ts === "number" && ts >= latestTs) {
        latestTs = ts;
        latest = s;
      }
    }
    if (latest === null) return;
    if (this.rule === "status") {
      if (latest.status === "closed") this.close(now);
    } else if (now > latestTs + this.rule) this.close(now);
  }
}
