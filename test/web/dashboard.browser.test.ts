// @needs chromium
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Locator, type Page } from "playwright-core";
import { BSPumpApplication, Config, PeriodicTrigger, Pipeline, Sink, TriggerSource, type ConfigSpec, type EventContext, type TypedConfig } from "../../src/core/index.js";
import { InternalSource, RouterSink } from "../../src/common/index.js";
import { WebService } from "../../src/web/index.js";
import { TimeWindowAnalyzer } from "../../src/analyzer/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import "../../src/web/index.js";

// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core): the
// topology (router and throttle edges), live counters and charts, a TimeWindowAnalyzer's heatmap,
// lookups, an error with its event preview and in the tail of warnings and errors, clear-error with
// the token, escaping of hostile strings, and no console errors; a screenshot per view. Screenshots go to BSPUMP_ARTIFACTS (default:
// a folder under the OS temp dir, printed); `BSPUMP_ARTIFACTS=docs/img` refreshes the docs' ones.

const SECRET = "hunter2-very-secret";
/** The analyzer's dimensions: one busy, one with markup (escaped in the heatmap). */
const DIMENSIONS = ["alpha", "alpha", "alpha", "beta", "<script>window.__xss = 3</script>"];
const TOKEN = "t0ken-for-tests";
/** A pipeline id with markup: shown as text in the graph and its panel. */
const EVIL_ID = "Idle<script>window.__xss = 4</script>";

/** Ten events per tick; the event after `explodeAt` asks the sink to fail. */
class TickSource extends TriggerSource {
  n = 0;
  explodeAt = -1;
  /** The lag in the shape KafkaSource.describe() gives it (a topic name with markup, to check escaping). */
  override describe(): Record<string, unknown> {
    return { ...super.describe(), Emitted: this.n, Lag: [{ topic: "ticks<b>x</b>", partition: 0, lag: 42 }] };
  }
  async cycle(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.n++;
      const dim = DIMENSIONS[this.n % DIMENSIONS.length];
      this.pipeline.process({ n: this.n, dim, explode: this.n === this.explodeAt, note: `<script>window.__xss = 2</script> ${SECRET}` });
    }
  }
}

class ToRouted extends RouterSink {
  process(context: EventContext, event: unknown): null {
    this.route(context, event, "Routed.*In");
    return null;
  }
}

const CONFIG = { password: { type: "string", default: "", doc: "a secret that must never be shown", secret: true } } satisfies ConfigSpec;

class ExplodingSink extends Sink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  consumed = 0;
  process(_context: EventContext, event: unknown): null {
    if ((event as { explode?: boolean }).explode) throw new Error(`refused <img src=x onerror="window.__xss = 1"> event`);
    this.consumed++;
    return null;
  }
}

async function startPump(): Promise<{ app: BSPumpApplication; web: WebService; source: TickSource; stop: () => Promise<number> }> {
  const ini = `[web]\nlisten = 127.0.0.1:0\ntoken = ${TOKEN}\n[pipeline:Routed:ExplodingSink]\npassword = ${SECRET}\n`;
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<dashboard test>"), handleSignals: false });
  app.logs.writer = () => {};
  const main = new Pipeline(app, "Main");
  const source = new TickSource(app, main).on(new PeriodicTrigger(app, 0.05));
  const analyzer = new TimeWindowAnalyzer(app, main, { config: { time_source: "clock", dimension_attr: "dim", resolution: 1, columns: 8, emit: "none" } });
  main.build(source, analyzer, new ToRouted(app, main));
  const colors = app.pumpService.addLookup(new DictionaryLookup(app, "Colors"));
  colors.set("red", "#f00");
  colors.set("green", "#0f0");
  const routed = new Pipeline(app, "Routed");
  routed.build(new InternalSource(app, routed, { id: "In" }), new ExplodingSink(app, routed));
  const idle = new Pipeline(app, EVIL_ID);
  idle.build(new InternalSource(app, idle, { id: "In" }), new ExplodingSink(app, idle));
  app.pumpService.addPipeline(main);
  app.pumpService.addPipeline(routed);
  app.pumpService.addPipeline(idle);
  const started = new Promise<void>((resolve) => app.pubsub.subscribe("Application.run!", () => resolve()));
  const running = app.run();
  await started;
  const web = app.getService<WebService>("bspump.WebService");
  return { app, web, source, stop: () => (app.stop(), running) };
}

/** A page expression: the pipeline's counter shows more than `value`. */
function counterAbove(pipeline: string, name: string, value: number): string {
  const el = `document.querySelector('.pipeline[data-pipeline="${pipeline}"] [data-counter="${name}"]')`;
  return `${el} !== null && Number(${el}.textContent.replace(/[^0-9.]/g, "")) > ${value}`;
}

/**
 * A screenshot of one view: the page clipped to the element's box (the page redraws its panels every
 * second, so an element screenshot could catch the element being replaced).
 */
async function shot(page: Page, locator: Locator, path: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    // null while the element is being replaced: the next one is there a moment later.
    const box = await locator.boundingBox({ timeout: 1000 }).catch(() => null);
    if (box) return void (await page.screenshot({ path, fullPage: true, clip: box }));
    await page.waitForTimeout(50);
  }
  assert.fail(`no box for ${String(locator)}`);
}

function artifacts(): string {
  const dir = process.env.BSPUMP_ARTIFACTS ?? join(tmpdir(), "bspump-artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function counter(page: Page, pipeline: string, name: string): Promise<number> {
  const text = await page.locator(`.pipeline[data-pipeline="${pipeline}"] [data-counter="${name}"]`).textContent();
  return Number((text ?? "").replace(/[^0-9.]/g, ""));
}

test("dashboard in Chromium: topology with the router edge, live counters and charts, error preview masked and escaped, clear-error with the token", async () => {
  const { web, source, stop } = await startPump();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const consoleErrors: string[] = [];
  const dir = artifacts();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("dialog", (d) => void d.accept(d.type() === "prompt" ? TOKEN : undefined));
    await page.goto(`${web.url}/`);

    // Live over Server-Sent Events; both pipelines drawn, and the edge Main → Routed.
    await page.locator("#conn.live").waitFor({ timeout: 15_000 });
    await page.locator('g.node[data-pipeline="Main"]').waitFor();
    await page.locator('g.node[data-pipeline="Routed"]').waitFor();
    // A pipeline id with markup is text in the graph and in its panel; the page's own script is the only one.
    assert.equal(await page.locator("#topology g.node").filter({ hasText: EVIL_ID }).count(), 1);
    assert.deepEqual(await page.locator(".pipeline .head b").allTextContents(), ["Main", "Routed", EVIL_ID]);
    assert.equal(await page.locator("script").count(), 1);
    await page.locator('path.edge[data-from="Main"][data-to="Routed"]').waitFor({ state: "attached", timeout: 15_000 });

    // Counters advance while events flow; the charts have a line.
    const first = await counter(page, "Routed", "in");
    await page.waitForFunction(counterAbove("Routed", "in", first + 50), undefined, { timeout: 15_000 });
    assert.equal(await page.locator('.pipeline[data-pipeline="Routed"] [data-chart="in"] polyline').count(), 1);
    // Each component's own numbers (describe()), and a Kafka-shaped lag per partition, escaped.
    const facts = (await page.locator('.pipeline[data-pipeline="Main"] [data-component="TickSource"] small.facts').textContent()) ?? "";
    assert.match(facts, /Emitted [0-9,]+/);
    assert.match(facts, /lag ticks<b>x<\/b>\/0: 42/);

    // The analyzer's window as a heatmap: its dimensions busiest first, a cell per time column.
    const heat = page.locator('.heatmap[data-heatmap="TimeWindowAnalyzer"]');
    await page.waitForFunction(`document.querySelectorAll('.heatmap[data-heatmap="TimeWindowAnalyzer"] tr').length === 3`, undefined, { timeout: 15_000 });
    // alpha has 3 events of 5; the other two 1 each (their order depends on where the window starts).
    const dims = await heat.locator("tr td:first-child").allTextContents();
    assert.equal(dims[0], "alpha");
    assert.deepEqual(dims.slice(1).sort(), ["<script>window.__xss = 3</script>", "beta"]);
    assert.equal(await heat.locator("tr").first().locator("rect").count(), 8, "one cell per column");
    assert.match((await heat.textContent()) ?? "", /top 3 of 3 dimensions, 8 columns of 1 s/);
    // The lookup: its size, when it changed, and its state.
    const lookup = page.locator('tr[data-lookup="Colors"] td');
    assert.deepEqual((await lookup.allTextContents()).slice(0, 4), ["Colors", "DictionaryLookup", "2", "master"]);
    assert.match((await lookup.nth(4).textContent()) ?? "", /^\d+ s ago$/);
    await page.screenshot({ path: join(dir, "dashboard.png"), fullPage: true });
    await shot(page, page.locator("#topology"), join(dir, "dashboard-topology.png"));
    await shot(page, heat, join(dir, "dashboard-heatmap.png"));
    await shot(page, page.locator("#lookups"), join(dir, "dashboard-lookups.png"));

    // A hard error: shown with its message and a preview of the event; hostile strings stay text.
    source.explodeAt = source.n + 25;
    const panel = page.locator('.pipeline.error[data-pipeline="Routed"]');
    await panel.waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('g.node.error[data-pipeline="Routed"]').count(), 1, "the graph shows the error too");
    assert.match((await panel.locator(".err").textContent()) ?? "", /refused <img src=x onerror="window.__xss = 1"> event/);
    const preview = (await panel.locator("pre.preview").textContent()) ?? "";
    assert.match(preview, /<script>window.__xss = 2<\/script>/, "the event preview is shown as text");
    assert.equal(preview.includes(SECRET), false, "a configured secret never shows in the preview");
    assert.match(preview, /\*\*\*/);
    assert.equal(await page.evaluate("typeof window.__xss"), "undefined", "no injected script ran");
    assert.equal(await page.locator("script").count(), 1);
    assert.equal(await page.locator("#pipelines img, #pipelines script, #tail img, #tail script").count(), 0);
    // Who throttles whom: Routed in error throttles Main, the pipeline that routes into it.
    await page.locator('path.edge.throttle[data-from="Routed"][data-to="Main"]').waitFor({ state: "attached", timeout: 15_000 });
    assert.match((await page.locator('.pipeline[data-pipeline="Main"]').textContent()) ?? "", /throttled byRouted/);
    // The tail of warnings and errors has the error, escaped.
    const tail = (await page.locator('#tail .error[data-tail="Routed"]').allTextContents()).join("\n");
    assert.match(tail, /Pipeline stopped due to a processing error/);
    await page.screenshot({ path: join(dir, "dashboard-error.png"), fullPage: true });
    await shot(page, page.locator("#tail"), join(dir, "dashboard-tail.png"));

    // Clear it from the page: the API asks for the token (401), the page prompts, then it is cleared.
    await panel.locator("button[data-clear]").click();
    await page.locator('.pipeline[data-pipeline="Routed"]:not(.error)').waitFor({ timeout: 15_000 });
    const afterClear = await counter(page, "Routed", "in");
    await page.waitForFunction(counterAbove("Routed", "in", afterClear), undefined, { timeout: 15_000 });
    assert.deepEqual(consoleErrors.filter((e) => !/401|Unauthorized/.test(e)), [], "no console errors");
    process.stderr.write(`dashboard screenshots in ${dir}\n`);
  } finally {
    await browser.close();
    await stop();
  }
});

test("dashboard in Chromium: the demo pump (bspump demo --serve), live charts and the analyzer's heatmap", async () => {
  const cli = fileURLToPath(new URL("../../dist/src/cli/bspump.js", import.meta.url));
  const child = spawn(process.execPath, [cli, "demo", "--serve", "-w", "127.0.0.1:0", "-o", mkdtempSync(join(tmpdir(), "bspump-demo-"))], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const consoleErrors: string[] = [];
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 20_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        const m = /serving the dashboard on (\S+?)\/ /.exec(out);
        if (m) (clearTimeout(timer), resolve(m[1]!));
      });
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(`${url}/`);
    await page.locator('path.edge[data-from="AccessLog"][data-to="ServerErrors"]').waitFor({ state: "attached", timeout: 15_000 });
    // A few seconds of rates in the charts, and the window of the analyzer with the four teams.
    await page.waitForFunction(
      `(document.querySelector('.pipeline[data-pipeline="AccessLog"] [data-chart="in"] polyline')?.getAttribute("points") || "").split(" ").length >= 6`,
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForFunction(`document.querySelectorAll('.heatmap[data-heatmap="TeamsPerWindow"] tr').length === 4`, undefined, { timeout: 15_000 });
    assert.deepEqual((await page.locator('.heatmap[data-heatmap="TeamsPerWindow"] tr td:first-child').allTextContents()).sort(), ["blue", "gold", "green", "red"]);
    assert.equal(await page.locator('tr[data-lookup="Teams"] td').nth(2).textContent(), "1,000");
    await page.screenshot({ path: join(artifacts(), "dashboard-demo.png"), fullPage: true });
    assert.deepEqual(consoleErrors, [], "no console errors");
  } finally {
    await browser.close();
    child.kill("SIGINT");
    await exited;
  }
});
