// Cost of the core engine per event, in one process: pipeline.process() into a counting sink,
// with 0 and 2 pass-through processors, against calling the sink directly. 5,000,000 events,
// best of 3 rounds. Prints one JSON line.
import * as bspump from "../dist/src/index.js";

const app = new bspump.BSPumpApplication({ args: [], handleSignals: false });
class CountingSink extends bspump.Sink { n = 0; process() { this.n++; return null; } }
class Pass extends bspump.Processor { process(_c, e) { return e; } }
function pipelineWith(k) {
  const p = new bspump.Pipeline(app, `P${k}`);
  const procs = [];
  for (let i = 0; i < k; i++) procs.push(new Pass(app, p, { id: `Pass${i}` }));
  p.build([], ...procs, new CountingSink(app, p));
  return p;
}
const p0 = pipelineWith(0);
const p2 = pipelineWith(2);
const sink = new CountingSink(app, p0, { id: "Direct" });
const ev = "x";
const N = 5_000_000;
const cases = {
  "sink.process() called directly": () => { for (let i = 0; i < N; i++) sink.process({ filename: "f" }, ev); },
  "pipeline.process() → sink": () => { for (let i = 0; i < N; i++) p0.process(ev, { filename: "f" }); },
  "pipeline.process() → 2 processors → sink": () => { for (let i = 0; i < N; i++) p2.process(ev, { filename: "f" }); },
};
const best = {};
for (let r = 0; r < 3; r++) {
  for (const [name, f] of Object.entries(cases)) {
    const t0 = performance.now();
    f();
    const ns = ((performance.now() - t0) * 1e6) / N;
    best[name] = Math.min(best[name] ?? Infinity, ns);
  }
}
process.stdout.write(JSON.stringify({ system: "core-micro", nsPerEvent: best }) + "\n");
