// @needs chromium
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CLI, startPump, until } from "../core/workers-helpers.js";

// The dashboard of a pump with `--workers 2`, served by the supervisor and loaded in Chromium: both
// pipelines drawn, the shared file pipeline's counter reaching the lines of both workers together
// (the supervisor's sum over IPC), no console errors.

const FILES = 40;
const LINES = 50;

test("dashboard in Chromium with --workers 2: the supervisor's page shows the pipelines and the workers' summed counters", { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-dash-workers-"));
  mkdirSync(join(dir, "in"));
  mkdirSync(join(dir, "out"));
  writeFileSync(
    join(dir, "pump.yaml"),
    `pipelines:
  - id: Files
    sources: [{class: file.FileLineSource, config: {path: "${dir}/in/*.log", post: delete, files_per_cycle: 0}, trigger: {class: PeriodicTrigger, args: {interval: 0.2}}}]
    sink: {class: file.FileLineSink}
  - id: Once
    sources: [{class: random.RandomSource, config: {number: 5}, trigger: {class: PeriodicTrigger, args: {interval: 0.5}}}]
    sink: {class: common.NullSink}
`,
  );
  writeFileSync(join(dir, "pump.conf"), `[pipeline:Files:FileLineSink]\npath = ${dir}/out/w\${BSPUMP_WORKER}.txt\n`);
  const pump = startPump([CLI, "run", join(dir, "pump.yaml"), "-c", join(dir, "pump.conf"), "--workers", "2", "-w", "127.0.0.1:0"]);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const consoleErrors: string[] = [];
  try {
    const url = await pump.url();
    await until(async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as { workers: { state: string }[] };
      return health.workers.length === 2 && health.workers.every((w) => w.state === "ready");
    }, 200_000, "both workers ready");
    for (let i = 0; i < FILES; i++) {
      let text = "";
      for (let j = 0; j < LINES; j++) text += `f${i}-${j}\n`;
      writeFileSync(join(dir, `f${i}.tmp`), text);
      renameSync(join(dir, `f${i}.tmp`), join(dir, "in", `f${i}.log`));
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(`${url}/`);
    for (const id of ["Files", "Once"]) await page.locator(`.pipeline[data-pipeline="${id}"]`).first().waitFor({ timeout: 20_000 });
    const counter = `document.querySelector('.pipeline[data-pipeline="Files"] [data-counter="in"]')`;
    await page.waitForFunction(`${counter} !== null && Number(${counter}.textContent.replace(/[^0-9.]/g, "")) === ${FILES * LINES}`, undefined, { timeout: 60_000 });
    const pipelines = (await (await fetch(`${url}/bspump/v1/pipelines`)).json()) as Record<string, { Workers: Record<string, { Metrics?: Record<string, number> }> }>;
    // Both workers took files: the total on the page is a sum, not one worker's count.
    assert.deepEqual(Object.keys(pipelines.Files!.Workers).sort(), ["0", "1"]);
    assert.deepEqual(consoleErrors, [], "no console errors");
  } finally {
    await browser.close();
    pump.child.kill("SIGTERM");
    const code = await pump.exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, pump.output().slice(-2000));
  }
});
