// Child process for the crash-and-restart test: reads a file into a sink that never settles, reports
// how many events it got, and waits to be killed.
import { BSPumpApplication, Config, Pipeline, PubSubTrigger, Sink, type EventContext } from "../../src/core/index.js";
import { FileLineSource } from "../../src/file/index.js";

class NeverSettles extends Sink {
  override readonly settlesReceipts = true;
  n = 0;
  process(_c: EventContext, _e: unknown): null {
    if (++this.n === 1000) process.stdout.write("got 1000\n");
    return null;
  }
}
const app = new BSPumpApplication({ args: [], config: Config.fromString("", "x"), handleSignals: false });
const pipeline = new Pipeline(app, "P");
const source = new FileLineSource(app, pipeline, { config: { path: process.argv[2]! } });
// Not RunOnceTrigger: that stops the app after the cycle, and the stop hands the file back.
source.on(new PubSubTrigger(app, "Application.run!"));
pipeline.build(source, new NeverSettles(app, pipeline));
app.pumpService.addPipeline(pipeline);
pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => process.stdout.write("cycle end\n"));
setInterval(() => {}, 1000);
void app.run();
