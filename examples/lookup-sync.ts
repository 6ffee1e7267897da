/**
 * Lookup master/slave synchronisation. Run a master and a slave in two terminals:
 *
 *   node --import tsx examples/lookup-sync.ts -c examples/lookup-master.ini
 *   node --import tsx examples/lookup-sync.ts -c examples/lookup-slave.ini
 *
 * The master loads examples/lookup-countries.json (edit it: the master reloads it, the slave
 * follows within two poll intervals) and serves it at http://127.0.0.1:8080/bspump/v1/lookup/Countries.
 * The slave polls with If-None-Match, persists its copy under ./var, and starts from that copy when
 * the master is down. Both enrich a few generated events with LookupEnricher and print them.
 */
import { BSPumpApplication, Pipeline, PeriodicTrigger, TriggerSource, type Application, type ComponentOptions } from "../src/index.js";
import { PrintSink } from "../src/common/index.js";
import { DictionaryLookup, LookupEnricher } from "../src/lookup/index.js";

class CodeSource extends TriggerSource {
  private n = 0;
  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.on(new PeriodicTrigger(app, 5));
  }
  async cycle(): Promise<void> {
    for (const code of ["CZ", "GB", "DE"]) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process({ n: this.n++, country: code });
    }
  }
}

const app = new BSPumpApplication();
const countries = app.pumpService.addLookup(new DictionaryLookup(app, "Countries"));
countries.pubsub.subscribe("bspump.Lookup.changed!", () => app.log.info(`Countries changed: ${countries.size} entries`));
const pipeline = new Pipeline(app, "EnrichPipeline");
pipeline.build(
  new CodeSource(app, pipeline),
  new LookupEnricher(app, pipeline, { lookup: "Countries", config: { key_field: "country", target_field: "country_name", missing: "null" } }),
  new PrintSink(app, pipeline),
);
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
