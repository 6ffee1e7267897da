/** Peak RSS growth (MB) while `body` runs: the peak sampled every 5 ms, and the kernel's maxRSS. */
export async function peakGrowthMB(body: () => Promise<void>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const maxAfter = process.resourceUsage().maxRSS * 1024;
  return Math.max(peak - before, maxAfter - Math.max(maxBefore, before)) / 1048576;
}
