import {
  BSPumpApplication,
  Config,
  Pipeline,
  Receipt,
  RunOnceTrigger,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type ProcessorBase,
} from "../../src/core/index.js";
import { ElasticSearchClient } from "../../src/elasticsearch/index.js";

export const ES_URL = process.env.ES_URL ?? "http://127.0.0.1:9200";

let counter = 0;
/** A unique lower-case index name for this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`.toLowerCase();
}

export const es = new ElasticSearchClient({ urls: [ES_URL], timeout: 120 });

export async function count(index: string): Promise<number> {
  await es.json("POST", `${index}/_refresh`);
  const r = await es.json<{ count: number }>("GET", `${index}/_count`);
  return r.count;
}

export async function deleteIndex(pattern: string): Promise<void> {
  await es.request("DELETE", `${pattern}?ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all`);
}

export async function createIndex(index: string, body: object = {}): Promise<void> {
  const settings = { settings: { number_of_shards: 1, number_of_replicas: 0 }, ...body };
  await es.json("PUT", index, settings);
}

/** Feeds events from an iterable, in batches with one Receipt each; counts how receipts ended. */
export class BatchSource extends TriggerSource {
  items: Iterable<Record<string, unknown>> = [];
  batch = 1000;
  withReceipts = true;
  settled = 0;
  failed = 0;
  receiptsDone = 0;
  receiptsMade = 0;
  sent = 0;
  /** Called after each batch (the fault test uses it). */
  afterBatch: ((sent: number) => void | Promise<void>) | null = null;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.on(new RunOnceTrigger(app));
  }

  async cycle(): Promise<void> {
    let receipt: Receipt | undefined;
    let n = 0;
    for (const item of this.items) {
      if (n === 0) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        if (this.pipeline.isError()) return;
        if (this.withReceipts) {
          this.receiptsMade++;
          receipt = new Receipt((r) => {
            this.receiptsDone++;
            this.settled += r.settledCount;
            this.failed += r.failedCount;
          });
        }
      }
      this.pipeline.process(item, receipt ? { receipt } : {});
      this.sent++;
      if (++n === this.batch) {
        receipt?.seal();
        receipt = undefined;
        n = 0;
        if (this.afterBatch) await this.afterBatch(this.sent);
      }
    }
    receipt?.seal();
  }
}

export function makeApp(config = ""): BSPumpApplication {
  return new BSPumpApplication({ args: [], config: Config.fromString(config, "<test config>"), handleSignals: false });
}

/** Runs `app` until the RunOnceTrigger stops it, failing after `seconds`. */
export async function runApp(app: BSPumpApplication, seconds = 120): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      app.run(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`app did not finish within ${seconds} s`)), seconds * 1000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds one pipeline `BatchSource → ...processors` and registers it. */
export function addPipeline(app: BSPumpApplication, id: string, make: (pipeline: Pipeline) => ProcessorBase[]): { pipeline: Pipeline; source: BatchSource } {
  const pipeline = new Pipeline(app, id);
  const source = new BatchSource(app, pipeline);
  pipeline.build(source, ...make(pipeline));
  app.pumpService.addPipeline(pipeline);
  return { pipeline, source };
}

export function* range(n: number, make: (i: number) => Record<string, unknown>): Generator<Record<string, unknown>> {
  for (let i = 0; i < n; i++) yield make(i);
}

/** Writes documents straight with _bulk (test fixtures), then refreshes. */
export async function seed(index: string, n: number, make: (i: number) => Record<string, unknown>, idOf: (i: number) => string = (i) => String(i)): Promise<void> {
  for (let start = 0; start < n; start += 5000) {
    let body = "";
    for (let i = start; i < Math.min(n, start + 5000); i++) body += `{"index":{"_id":${JSON.stringify(idOf(i))}}}\n${JSON.stringify(make(i))}\n`;
    const r = await es.request("POST", `${index}/_bulk`, body, "application/x-ndjson");
    const parsed = JSON.parse(r.body.toString()) as { errors: boolean };
    if (r.status !== 200 || parsed.errors) throw new Error(`seed failed: ${r.body.toString().slice(0, 500)}`);
  }
  await es.json("POST", `${index}/_refresh`);
}
