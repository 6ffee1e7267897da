/**
 * `bspump top [url]`: a running pump's pipelines in the terminal, over its web API (what `vector
 * top` is to Vector). On a terminal it redraws in place every `interval` seconds and quits on `q`
 * or Ctrl-C; otherwise (a pipe, a file) it prints one plain snapshot and exits.
 */

interface PipelineView {
  Id: string;
  Ready?: boolean;
  Error?: string;
  Throttles?: string[];
  Downstream?: string[];
  Metrics?: Record<string, number>;
}

export interface TopOptions {
  url: string;
  token?: string;
  intervalSeconds: number;
  output: NodeJS.WriteStream;
  input: NodeJS.ReadStream;
}

const COLUMNS = ["PIPELINE", "STATE", "IN/S", "OUT/S", "IN", "OUT", "DROP", "WARN", "ERR", "THROTTLED BY"] as const;

async function fetchPipelines(url: string, token: string | undefined): Promise<PipelineView[]> {
  const response = await fetch(`${url.replace(/\/+$/, "")}/bspump/v1/pipelines`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return Object.values((await response.json()) as Record<string, PipelineView>);
}

function formatCount(value: number | undefined): string {
  if (value === undefined) return "-";
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return String(Math.round(value * 10) / 10);
}

function stateOf(p: PipelineView): string {
  return p.Error ? "ERROR" : p.Ready ? "ready" : "throttled";
}

/** The screen as plain lines, each cut to `width`. */
export function renderTop(url: string, pipelines: PipelineView[], width: number, now: Date, interactive: boolean): string[] {
  const rows = pipelines.map((p) => {
    const m = p.Metrics ?? {};
    return [p.Id, stateOf(p), formatCount(m["eps.in"]), formatCount(m["eps.out"]), formatCount(m["event.in"]), formatCount(m["event.out"]),
      formatCount(m["event.drop"]), formatCount(m.warning), formatCount(m.error), (p.Throttles ?? []).join(",") || "-"];
  });
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i >= 2 && i <= 8 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const lines = [
    `bspump top — ${url} — ${now.toISOString().slice(11, 19)} UTC — ${pipelines.length} pipelines${interactive ? " — q quits" : ""}`,
    "",
    line(COLUMNS),
    ...rows.map(line),
  ];
  const failing = pipelines.filter((p) => p.Error);
  if (failing.length > 0) lines.push("", "Errors:", ...failing.map((p) => `  ${p.Id}: ${p.Error}`));
  // Strings from the pump are shown, never interpreted: control characters would move the cursor.
  return lines.map((l) => l.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, width));
}

export async function runTop(options: TopOptions): Promise<number> {
  const { url, token, output, input } = options;
  const interactive = output.isTTY === true;
  if (!interactive) {
    try {
      output.write(renderTop(url, await fetchPipelines(url, token), Number.MAX_SAFE_INTEGER, new Date(), false).join("\n") + "\n");
      return 0;
    } catch (e) {
      process.stderr.write(`bspump top: cannot reach ${url}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  output.write("\x1b[?1049h\x1b[?25l");
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onKey = (data: Buffer) => {
    const key = data.toString();
    if (key === "q" || key === "Q" || key === "\x03") stop();
  };
  if (input.isTTY) input.setRawMode(true);
  input.on("data", onKey);
  input.resume();
  const onSignal = () => stop();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    while (true) {
      let lines: string[];
      try {
        lines = renderTop(url, await fetchPipelines(url, token), output.columns || 120, new Date(), true);
      } catch (e) {
        lines = [`bspump top — cannot reach ${url}: ${(e as Error).message} (retrying; q quits)`];
      }
      output.write("\x1b[H\x1b[2J" + lines.join("\r\n"));
      const tick = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), options.intervalSeconds * 1000).unref());
      if (await Promise.race([tick, stopped.then(() => true)])) break;
    }
  } finally {
    input.off("data", onKey);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    output.write("\x1b[?25h\x1b[?1049l");
  }
  return 0;
}
