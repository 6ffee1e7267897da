// @needs chromium
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { BSPumpApplication, Config, PeriodicTrigger, Pipeline, Sink, TriggerSource, type ConfigSpec, type EventContext, type TypedConfig } from "../../src/core/index.js";
import { InternalSource, RouterSink } from "../../src/common/index.js";
import { WebService } from "../../src/web/index.js";
import "../../src/web/index.js";

// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core): the
// topology, live counters and charts, an error with its event preview, clear-error with the token,
// escaping of hostile strings, and no console errors. Screenshots go to BSPUMP_ARTIFACTS (default:
// a folder under the OS temp dir, printed); `BSPUMP_ARTIFACTS=docs/img` refreshes the docs' ones.

const SECRET = "hunter2-very-secret";
const TOKEN = "t0ken-for-tests";

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
      this.pipeline.process({ n: this.n, explode: this.n === this.explodeAt, note: `<script>window.__xss = 2</script> ${SECRET}` });
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
  main.build(source, new ToRouted(app, main));
  const routed = new Pipeline(app, "Routed");
  routed.build(new InternalSource(app, routed, { id: "In" }), new ExplodingSink(app, routed));
  app.pumpService.addPipeline(main);
  app.pumpService.addPipeline(routed);
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
    await page.locator('path.edge[data-from="Main"][data-to="Routed"]').waitFor({ state: "attached", timeout: 15_000 });

    // Counters advance while events flow; the charts have a line.
    const first = await counter(page, "Routed", "in");
    await page.waitForFunction(counterAbove("Routed", "in", first + 50), undefined, { timeout: 15_000 });
    assert.equal(await page.locator('.pipeline[data-pipeline="Routed"] [data-chart="in"] polyline').count(), 1);
    // Each component's own numbers (describe()), and a Kafka-shaped lag per partition, escaped.
    const facts = (await page.locator('.pipeline[data-pipeline="Main"] [data-component="TickSource"] small.facts').textContent()) ?? "";
    assert.match(facts, /Emitted [0-9,]+/);
    assert.match(facts, /lag ticks<b>x<\/b>\/0: 42/);
    await page.screenshot({ path: join(dir, "dashboard.png"), fullPage: true });

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
    assert.equal(await page.locator("#pipelines img, #pipelines script").count(), 0);
    await page.screenshot({ path: join(dir, "dashboard-error.png"), fullPage: true });

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
