/**
 * Events → InfluxDB: turns simulated sensor readings into points (measurement, tags, fields, time)
 * and writes them with InfluxDBSink in batches of line protocol, timestamps in the connection's
 * precision. Then reads them back with an InfluxQL query.
 *
 *   node --import tsx examples/influxdb-metrics.ts [http://127.0.0.1:8086/] [database]
 */
import * as bspump from "../src/index.js";

const url = process.argv[2] ?? "http://127.0.0.1:8086/";
const db = process.argv[3] ?? "bspump";
const now = Math.floor(Date.now() / 1000);
const readings = Array.from({ length: 60 }, (_, i) => ({ sensor: `s${i % 3}`, room: i % 2 ? "lab 1" : "hall", celsius: 20 + Math.sin(i / 5) * 3, ok: i % 7 !== 0, t: now - 60 + i }));

class ToPoint extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): unknown {
    const r = event as (typeof readings)[number];
    const point: bspump.influxdb.InfluxPoint = { measurement: "example_temperature", tags: { sensor: r.sensor, room: r.room }, fields: { celsius: r.celsius, ok: r.ok }, time: r.t };
    return point;
  }
}

class MetricsPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.common.IteratorSource(app, this, readings).on(new bspump.RunOnceTrigger(app)),
      new ToPoint(app, this),
      new bspump.influxdb.InfluxDBSink(app, this, "InfluxDBConnection"),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(new bspump.influxdb.InfluxDBConnection(app, "InfluxDBConnection", { config: { url, db, precision: "s" } }));
const pipeline = new MetricsPipeline(app, "MetricsPipeline");
app.pumpService.addPipeline(pipeline);
const code = await app.run();
if (pipeline.isError()) console.error(pipeline.error?.error.message);
const q = encodeURIComponent(`SELECT mean("celsius") FROM "example_temperature" WHERE time > now() - 5m GROUP BY "sensor"`);
console.log(JSON.stringify(await (await fetch(`${url.replace(/\/?$/, "/")}query?db=${db}&q=${q}`)).json(), null, 1));
process.exit(code);
