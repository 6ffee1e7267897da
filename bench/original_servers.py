"""Server workloads for the original BSPump (PyPI `bitswan`), run by bench/main.mjs when the servers
answer. Harness code only: bspump's own KafkaConnection/KafkaSource/KafkaSink (confluent-kafka),
FileLineSource, StdJsonToDictParser, DictToJsonBytesParser and ElasticSearchConnection/Sink
(aiohttp); the engine is not patched.

Usage:
  python bench/original_servers.py K1 <broker> <input-topic> <output-topic> <group> <events>
  python bench/original_servers.py K1-consume <broker> <input-topic> <group> <events>
  python bench/original_servers.py K1-produce <broker> <data-file> <output-topic> <events>
  python bench/original_servers.py E1 <url> <data-file> <index> <events>
Prints one JSON line like bench/original.py.

Throttling is configured away (settings, not patches): this engine's Pipeline.inject() stores every
event in the pipeline's error slot (`self._error = (context, event, None, time)`) and never clears it,
and _evaluate_ready() treats a non-empty slot as an error. So the first time a sink throttles the
pipeline, un-throttling never makes it ready again: the source waits forever (seen here: K1 stalled
once KafkaSink's queue passed watermark.high = 90,000 — its default sits just below librdkafka's
queue.buffering.max.messages = 100,000, above which produce() fails and KafkaSink drops the event; E1 at ~90,000 documents when the connection's
output queue reached output_queue_max_size = 10). The harness raises both above what a run can reach.

Where the harness steps in (BSPump has no "all delivered" signal):
  K1, K1-produce: the sink subclass counts produced messages; after the last one it calls the
      producer's own flush() (what KafkaSink's tick does, without the 0.2 s timeout) and stops the clock.
  K1-consume: a counting bspump.Sink stops the clock at the last message.
  E1: the read is started by a one-shot PubSubTrigger message (see e1()); a bulk subclass (the sink's `bulk_class` hook) counts documents the server acknowledged; when
      the file is read, the harness calls the connection's own flush(forced=True) — what its exit
      handler does — instead of waiting for the bulk to age for 2 ticks.
"""
import asyncio
import json
import resource
import sys
import time

workload, args = sys.argv[1], sys.argv[2:]
sys.argv = sys.argv[:1]  # the application parses the command line

import bspump  # noqa: E402
import bspump.common  # noqa: E402

LINGER_MS = "5"  # as the Node systems (bench/servers.mjs)
BULK_BYTES = 1 << 20
LOADERS = 4

state = {"t0": None, "t1": None, "events": 0, "acked": 0}


class AddField(bspump.Processor):
    def process(self, context, event):
        if state["t0"] is None:
            state["t0"] = time.perf_counter()
        state["events"] += 1
        event["processed"] = True
        return event


def kafka_app(broker, pipeline_class):
    """A BSPumpApplication with bspump.kafka's KafkaConnection "KafkaConnection" and one pipeline."""
    import bspump.kafka

    app = bspump.BSPumpApplication()
    svc = app.get_service("bspump.PumpService")
    svc.add_connection(bspump.kafka.KafkaConnection(app, "KafkaConnection", config={"bootstrap_servers": broker}))
    svc.add_pipeline(pipeline_class(app, "Bench"))
    return app


def kafka_source(app, pipeline, topic, group):
    import bspump.kafka

    return bspump.kafka.KafkaSource(app, pipeline, "KafkaConnection", config={
        "topic": topic, "group.id": group,
        # It never closes its consumer: a short session lets the bench delete the group.
        "session.timeout.ms": "6000",
    })


def counting_kafka_sink(app, pipeline, topic, n, stop_app=True):
    """KafkaSink that, after its n-th event, calls the producer's own flush() (what KafkaSink's tick
    does, without the 0.2 s timeout), stops the clock and (with stop_app) the application."""
    import bspump.kafka

    class CountingKafkaSink(bspump.kafka.KafkaSink):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.Count = 0

        def process(self, context, event):
            super().process(context, event)
            self.Count += 1
            if self.Count == n:
                left = self.Producer.flush(60)
                state["t1"] = time.perf_counter()
                state["acked"] = n - left
                if stop_app:
                    self.Pipeline.App.stop()

    return CountingKafkaSink(app, pipeline, "KafkaConnection", config={
        "topic": topic, "linger.ms": LINGER_MS,
        "watermark.high": str(10 * n), "watermark.low": str(9 * n),  # never throttle (see above)
        # ... so librdkafka's local queue (default 100,000 messages) must hold a whole run:
        # when it is full, produce() raises BufferError and KafkaSink logs and drops the event.
        "queue.buffering.max.messages": str(10 * n),
    })


def k1():
    broker, input_topic, output_topic, group, n = args[0], args[1], args[2], args[3], int(args[4])

    class K1Pipeline(bspump.Pipeline):
        def __init__(self, app, pipeline_id):
            super().__init__(app, pipeline_id)
            self.build(
                kafka_source(app, self, input_topic, group),
                bspump.common.StdJsonToDictParser(app, self),
                AddField(app, self),
                bspump.common.DictToJsonBytesParser(app, self),
                counting_kafka_sink(app, self, output_topic, n),
            )

    kafka_app(broker, K1Pipeline).run()
    return n


def k1_consume():
    broker, input_topic, group, n = args[0], args[1], args[2], int(args[3])

    class CountingSink(bspump.Sink):
        def process(self, context, event):
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            state["acked"] += 1
            if state["acked"] == n:
                state["t1"] = time.perf_counter()
                self.Pipeline.App.stop()

    class ConsumePipeline(bspump.Pipeline):
        def __init__(self, app, pipeline_id):
            super().__init__(app, pipeline_id)
            self.build(kafka_source(app, self, input_topic, group), CountingSink(app, self))

    kafka_app(broker, ConsumePipeline).run()
    return n


def k1_produce():
    import bspump.file
    import bspump.trigger

    broker, data_file, output_topic, n = args[0], args[1], args[2], int(args[3])

    class ProducePipeline(bspump.Pipeline):
        def __init__(self, app, pipeline_id):
            super().__init__(app, pipeline_id)
            src = bspump.file.FileLineSource(app, self, config={"path": data_file, "post": "noop"})
            # RunOnceTrigger stops the application at the end of the file, after the sink's flush of
            # the last line (a stop from the sink would leave the file renamed to "-locked").
            src.on(bspump.trigger.RunOnceTrigger(app))
            self.build(src, counting_kafka_sink(app, self, output_topic, n, stop_app=False))
            self.PubSub.subscribe("bspump.pipeline.cycle_begin!", self.on_begin)

        def on_begin(self, event_name, pipeline):
            if state["t0"] is None:
                state["t0"] = time.perf_counter()

    kafka_app(broker, ProducePipeline).run()
    return n


def e1():
    import bspump.elasticsearch
    import bspump.file
    import bspump.trigger
    from bspump.elasticsearch.connection import ElasticSearchBulk

    url, data_file, index, n = args[0], args[1], args[2], int(args[3])

    class CountingBulk(ElasticSearchBulk):
        async def upload(self, url, session, timeout):
            docs = len(self.Items) // 2  # the data feeder yields an action line and a document per event
            result = await super().upload(url, session, timeout)
            if result is True:
                state["acked"] += docs
                if state["acked"] >= n and state["t1"] is None:
                    state["t1"] = time.perf_counter()
                    asyncio.get_event_loop().call_soon(app.stop)
            return result

    class E1Pipeline(bspump.Pipeline):
        def __init__(self, app, pipeline_id):
            super().__init__(app, pipeline_id)
            src = bspump.file.FileLineSource(app, self, config={"path": data_file, "post": "noop"})
            # Not RunOnceTrigger: it stops the application when the file is read, and documents not
            # yet uploaded were lost (189,970 of 200,000 indexed in a trial). A one-shot PubSub message starts the read; the harness stops the
            # application once every document is acknowledged.
            src.on(bspump.trigger.PubSubTrigger(app, "Bench.go!"))
            self.build(
                src,
                bspump.common.StdJsonToDictParser(app, self),
                bspump.elasticsearch.ElasticSearchSink(app, self, "ES", config={"index": index}, bulk_class=CountingBulk),
            )
            self.PubSub.subscribe("bspump.pipeline.cycle_begin!", self.on_begin)
            self.PubSub.subscribe("bspump.pipeline.cycle_end!", self.on_end)

        def on_begin(self, event_name, pipeline):
            if state["t0"] is None:
                state["t0"] = time.perf_counter()

        def on_end(self, event_name, pipeline):
            connection.flush(forced=True)

    app = bspump.BSPumpApplication()
    svc = app.get_service("bspump.PumpService")
    connection = bspump.elasticsearch.ElasticSearchConnection(
        app, "ES", config={
            "url": url, "bulk_out_max_size": BULK_BYTES, "loader_per_url": LOADERS,
            "output_queue_max_size": 1_000_000,  # never pause the pipeline (see above)
        }
    )
    svc.add_connection(connection)
    pipeline = E1Pipeline(app, "E1")
    svc.add_pipeline(pipeline)
    def go(message_type):
        app.Loop.call_later(0.1, app.PubSub.publish, "Bench.go!")

    app.BenchGo = go  # PubSub holds subscribers by weak reference
    app.PubSub.subscribe("Application.run!", go)
    app.run()
    return n


n = {"K1": k1, "K1-consume": k1_consume, "K1-produce": k1_produce, "E1": e1}[workload]()
if state["t1"] is None or state["t0"] is None:
    print(json.dumps({"system": "original", "error": "did not finish: %d of %d acknowledged" % (state["acked"], n)}), file=sys.__stdout__)
    sys.exit(1)
if state["acked"] != n:
    print(json.dumps({"system": "original", "error": "%d of %d acknowledged" % (state["acked"], n)}), file=sys.__stdout__)
    sys.exit(1)
print(json.dumps({
    "system": "original", "workload": workload, "events": n, "seconds": state["t1"] - state["t0"],
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}), file=sys.__stdout__)
