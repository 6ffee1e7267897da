// @services kafka
// @needs chromium
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Locator, type Page } from "playwright-core";
import { Pipeline, Sink, type EventContext } from "../../src/core/index.js";
import { KafkaSource } from "../../src/kafka/index.js";
import { WebService } from "../../src/web/index.js";
import "../../src/web/index.js";
import { createTopic, latest, makeApp, produce, register, unique } from "../kafka/helpers.js";

// A KafkaSource's consumer lag per partition on the dashboard, from a real broker: the topic has
// 2,000 records in each of 2 partitions; the sink throttles the pipeline after `STOP_AFTER`
// events (more than a partition holds, so both have been read from and have a position), so part
// of the topic stays unread and its lag per partition is what the page shows.

const STOP_AFTER = 2100;

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


/** Takes events until `STOP_AFTER`, then holds the pipeline throttled. */
class StopSink extends Sink {
  taken = 0;
  process(_context: EventContext, _event: unknown): null {
    if (++this.taken === STOP_AFTER) this.pipeline.throttle(this, true);
    return null;
  }
}

test("dashboard in Chromium: a KafkaSource's lag per partition from a real broker", async () => {
  const topic = unique("dash-lag");
  const group = unique("dash-lag-group");
  await createTopic(topic, 2);
  await produce(topic, [
    ...Array.from({ length: 2000 }, (_, i) => ({ value: `a${i}`, partition: 0 })),
    ...Array.from({ length: 2000 }, (_, i) => ({ value: `b${i}`, partition: 1 })),
  ]);
  const high = await latest(topic);
  assert.deepEqual([high.get(0), high.get(1)], [2000, 2000]);

  const app = makeApp(`[web]\nlisten = 127.0.0.1:0\n[pipeline:Consume:KafkaSource]\ntopic = ${topic}\ngroup_id = ${group}\nauto_offset_reset = earliest\n`);
  app.logs.writer = () => {};
  const pipeline = new Pipeline(app, "Consume");
  const sink = new StopSink(app, pipeline);
  register(pipeline, new KafkaSource(app, pipeline, "Kafka"), sink);
  const started = new Promise<void>((resolve) => app.pubsub.subscribe("Application.run!", () => resolve()));
  const running = app.run();
  await started;
  const web = app.getService<WebService>("bspump.WebService");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const consoleErrors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(`${web.url}/`);
    const facts = page.locator('.pipeline[data-pipeline="Consume"] [data-component="KafkaSource"] small.facts');
    const lagOf = (text: string, partition: number): number | null => {
      const m = new RegExp(`${topic}/${partition}: ([0-9,]+)`).exec(text);
      return m ? Number(m[1]!.replace(/,/g, "")) : null;
    };
    // Both partitions shown once the sink stopped taking events and the client knows the watermarks.
    const shown = `(() => { const f = document.querySelector('.pipeline[data-pipeline="Consume"] [data-component="KafkaSource"] small.facts');
      return f !== null && /${topic}\\/0: [0-9,]+/.test(f.textContent) && /${topic}\\/1: [0-9,]+/.test(f.textContent); })()`;
    await page.waitForFunction(shown, undefined, { timeout: 30_000 });
    await page.waitForFunction(`Number(document.querySelector('.pipeline[data-pipeline="Consume"] [data-counter="in"]').textContent.replace(/[^0-9]/g, "")) >= ${STOP_AFTER}`, undefined, { timeout: 30_000 });
    // One snapshot (after the one that showed the stop): lag and events in from the same push.
    await page.waitForTimeout(1200);
    const text = (await facts.textContent()) ?? "";
    const eventsIn = Number(((await page.locator('.pipeline[data-pipeline="Consume"] [data-counter="in"]').textContent()) ?? "").replace(/[^0-9]/g, ""));
    const lag0 = lagOf(text, 0)!;
    const lag1 = lagOf(text, 1)!;
    assert.ok(lag0 >= 0 && lag0 < 2000 && lag1 >= 0 && lag1 < 2000, `lags ${lag0}, ${lag1}: both partitions were read from`);
    assert.ok(lag0 + lag1 > 0, "part of the topic is unread");
    // Lag = high watermark − position; the position is what the pipeline took plus what the
    // source holds (at most two batches of buffer_size = 100).
    const unread = 4000 - eventsIn;
    assert.ok(lag0 + lag1 <= unread && lag0 + lag1 >= unread - 200, `lag ${lag0} + ${lag1} for ${unread} records not handed over`);
    const dir = process.env.BSPUMP_ARTIFACTS ?? join(tmpdir(), "bspump-artifacts");
    mkdirSync(dir, { recursive: true });
    await shot(page, page.locator('.pipeline[data-pipeline="Consume"]'), join(dir, "dashboard-kafka-lag.png"));
    assert.deepEqual(consoleErrors, [], "no console errors");
  } finally {
    await browser.close();
    app.stop();
    await running;
  }
});
