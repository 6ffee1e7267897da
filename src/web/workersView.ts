import { toPrometheus, type MetricSample, type WorkerReport, type WorkerStatus } from "../core/index.js";

/**
 * The supervisor's web API shows the pump as one: these functions merge what the workers report
 * (WorkerSupervisor.gather()) into the shapes a single process serves, so the dashboard, `bspump
 * top` and scrapers need not know about workers.
 */

type View = Record<string, unknown>;

/** Summed over workers: counters and rates. `dutycycle.ready` is averaged (it is a fraction). */
const AVERAGED = new Set(["dutycycle.ready"]);

/**
 * `GET /bspump/v1/pipelines` for the whole pump: per pipeline, the view of the lowest worker that
 * runs it, with `Metrics` summed over the workers, `Ready` only when every worker's copy is,
 * the union of `Throttles`, the first `Error` (and which worker has it), and `Workers`: each
 * worker's own `Ready`, `Metrics` and `Error`.
 */
export function mergePipelines(reports: WorkerReport[]): Record<string, View> {
  const out: Record<string, View> = {};
  for (const report of reports) {
    for (const [id, view] of Object.entries(report.pipelines)) {
      const metrics = (view.Metrics ?? {}) as Record<string, number>;
      const own: View = { Ready: view.Ready, Metrics: metrics, ...(view.Error !== undefined ? { Error: view.Error } : {}) };
      const merged = out[id];
      if (!merged) {
        out[id] = { ...view, Metrics: { ...metrics }, Throttles: [...((view.Throttles as string[] | undefined) ?? [])], Workers: { [report.worker]: own } };
        if (view.Error !== undefined) out[id]!.ErrorWorker = report.worker;
        continue;
      }
      const sum = merged.Metrics as Record<string, number>;
      for (const [k, v] of Object.entries(metrics)) if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
      merged.Ready = merged.Ready === true && view.Ready === true;
      for (const t of (view.Throttles as string[] | undefined) ?? []) if (!(merged.Throttles as string[]).includes(t)) (merged.Throttles as string[]).push(t);
      if (merged.Error === undefined && view.Error !== undefined) {
        merged.Error = view.Error;
        merged.ErrorTimestamp = view.ErrorTimestamp;
        merged.ErrorEvent = view.ErrorEvent;
        merged.ErrorWorker = report.worker;
      }
      (merged.Workers as View)[report.worker] = own;
    }
  }
  for (const view of Object.values(out)) {
    const n = Object.keys(view.Workers as View).length;
    const sum = view.Metrics as Record<string, number>;
    for (const k of AVERAGED) if (typeof sum[k] === "number") sum[k] = sum[k]! / n;
  }
  return out;
}

/**
 * `GET /metrics` for the whole pump: every worker's series labelled `worker`, a total (no
 * `worker` label) of each counter — a sum of gauges (ratios, ready flags) would mean nothing, so
 * gauges are per worker only —, and the supervisor's own series (web API, restarts).
 */
export function mergedMetrics(reports: WorkerReport[], own: MetricSample[]): string {
  const samples: MetricSample[] = [...own];
  const totals = new Map<string, MetricSample & { fields: Record<string, number> }>();
  for (const report of reports) {
    const worker = String(report.worker);
    for (const s of report.metrics) {
      samples.push({ ...s, tags: { ...s.tags, worker } });
      if (s.type !== "counter") continue;
      const key = JSON.stringify([s.name, Object.entries(s.tags).sort()]);
      let total = totals.get(key);
      if (!total) totals.set(key, (total = { name: s.name, type: "counter", tags: s.tags, help: s.help, fields: {} }));
      for (const [f, v] of Object.entries(s.fields)) total.fields[f] = (total.fields[f] ?? 0) + v;
    }
  }
  return toPrometheus([...samples, ...totals.values()]);
}

/** `GET /health` for the whole pump: an error in any worker's pipeline is an error (503). */
export function mergedHealth(reports: WorkerReport[], workers: WorkerStatus[], uptime: number): { status: number; body: View } {
  const pipelines: Record<string, string> = {};
  let failed = false;
  for (const [id, view] of Object.entries(mergePipelines(reports))) {
    const state = view.Error !== undefined ? "error" : view.Ready ? "ready" : "not ready";
    if (state === "error") failed = true;
    pipelines[id] = state;
  }
  return { status: failed ? 503 : 200, body: { status: failed ? "error" : "ok", uptime, pipelines, workers } };
}
