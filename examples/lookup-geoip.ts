/**
 * GeoIP enrichment of a few addresses with the committed test databases:
 *   node --import tsx examples/lookup-geoip.ts
 */
import { BSPumpApplication, Pipeline, PubSubTrigger } from "../src/index.js";
import { IteratorSource, PPrintSink } from "../src/common/index.js";
import { GeoIPEnricher } from "../src/lookup/index.js";

const app = new BSPumpApplication({ args: [] });
const pipeline = new Pipeline(app, "GeoIPPipeline");
const events = ["81.2.69.160", "2001:db8:1::5", "10.0.0.1", "8.8.8.8", "bogus"].map((ip) => ({ ip }));
pipeline.build(
  new IteratorSource(app, pipeline, events).on(new PubSubTrigger(app, "Application.run!")),
  new GeoIPEnricher(app, pipeline, { config: { db_path: "test/lookup/fixtures/test-city.mmdb", asn_db_path: "test/lookup/fixtures/test-asn.mmdb" } }),
  new PPrintSink(app, pipeline),
);
app.pumpService.addPipeline(pipeline);
pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
process.exitCode = await app.run();
