// Summarises a V8 .cpuprofile: top functions by self time. Usage: node bench/profile.mjs <file> [top]
import { readFileSync } from "node:fs";

export function topFunctions(path, top = 15) {
  const prof = JSON.parse(readFileSync(path, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    const d = dt[i] ?? 0;
    total += d;
    const cf = node.callFrame;
    const pkg = cf.url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
    const short = cf.url ? `${pkg ? `${pkg} ` : ""}${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}` : "";
    const key = `${cf.functionName || "(anonymous)"} ${short}`.trim();
    self.set(key, (self.get(key) ?? 0) + d);
  }
  return {
    totalMs: total / 1000,
    top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, ms: us / 1000, pct: (100 * us) / total })),
  };
}

if (process.argv[1]?.endsWith("profile.mjs")) {
  const { totalMs, top } = topFunctions(process.argv[2], Number(process.argv[3] ?? 15));
  console.log(`total ${totalMs.toFixed(0)} ms`);
  for (const t of top) console.log(`${t.pct.toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.fn}`);
}
