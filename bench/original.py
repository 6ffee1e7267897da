"""Benchmark harness for the original BSPump (PyPI package `bitswan`, which ships the `bspump`
module). Harness code only: the pipeline uses bspump's own FileLineSource / FileCSVSource,
StdJsonToDictParser, TimeWindowAnalyzer and Processor/Sink base classes; the engine is not patched.

Usage: python bench/original.py <workload> <data-file> <event_idle_time>
Prints one JSON line: {"out": n_out, "seconds": s, "maxrss_kb": k, "check": ...}
"""
import json
import os
import resource
import sys
import time

workload, data_file, idle = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = sys.argv[:1]  # the application parses the command line

import bspump  # noqa: E402
import bspump.analyzer  # noqa: E402
import bspump.common  # noqa: E402
import bspump.file  # noqa: E402
import bspump.trigger  # noqa: E402


class Enrich(bspump.Processor):
    def process(self, context, event):
        if event["action"] == "noop":
            return None
        event["kb"] = event["bytes"] / 1024
        return event


class CountingSink(bspump.Sink):
    def __init__(self, app, pipeline, id=None, config=None):
        super().__init__(app, pipeline, id=id, config=config)
        self.Count = 0

    def process(self, context, event):
        self.Count += 1


class UserWindowAnalyzer(bspump.analyzer.TimeWindowAnalyzer):
    """count and sum(bytes) per user per 60 s tumbling window of event time."""

    def __init__(self, app, pipeline, start_time, id=None, config=None):
        super().__init__(
            app, pipeline, dtype=[("count", "f8"), ("sum", "f8")], columns=15,
            resolution=60, start_time=start_time, clock_driven=False, id=id, config=config,
        )
        self.Windows = 0  # closed (user, window) cells
        self.TotalCount = 0.0
        self.TotalSum = 0.0

    def close_oldest(self):
        col = self.TimeWindow.Array[:, 0]
        counts = col["count"]
        mask = counts > 0  # new columns are NaN, new rows zeros
        self.Windows += int(mask.sum())
        self.TotalCount += float(counts[mask].sum())
        self.TotalSum += float(col["sum"][mask].sum())

    def evaluate(self, context, event):
        ts = float(event["ts"])
        tw = self.TimeWindow
        while tw.TimeConfig.get_start() - ts <= 0.25 * 60:  # the matrix's own advance rule
            self.close_oldest()
            tw.add_column()
        row = tw.get_row_index(event["user"])
        if row is None:
            row = tw.add_row(event["user"])
        col = tw.get_column(ts)
        if col is None:
            return
        cell = tw.Array[row, col]
        if cell["count"] != cell["count"]:  # new columns start as NaN
            cell["count"] = 1
            cell["sum"] = float(event["bytes"])
        else:
            cell["count"] += 1
            cell["sum"] += float(event["bytes"])

    def flush_all(self):
        for _ in range(self.TimeWindow.Array.shape[1]):
            self.close_oldest()
            self.TimeWindow.add_column()


class BenchPipeline(bspump.Pipeline):
    def __init__(self, app, pipeline_id):
        super().__init__(app, pipeline_id)
        conf = {"path": data_file, "post": "noop", "event_idle_time": idle}
        self.Analyzer = None
        if workload in ("W1", "W3"):
            src = bspump.file.FileLineSource(app, self, config=conf)
        else:
            # bitswan's shipped default escapechar "" makes Python 3.11's csv module raise
            # ('"escapechar" must be a 1-character string') and the file is skipped silently;
            # BSPump 21.11's default was "\\", so the harness configures that.
            src = bspump.file.FileCSVSource(app, self, config=dict(conf, escapechar="\\"))
        src.on(bspump.trigger.RunOnceTrigger(app))
        self.Sink = CountingSink(app, self)
        chain = []
        if workload == "W1":
            chain = [bspump.common.StdJsonToDictParser(app, self), Enrich(app, self)]
        elif workload == "W2":
            with open(data_file) as f:
                f.readline()
                first_ts = float(f.readline().split(",", 1)[0])
            self.Analyzer = UserWindowAnalyzer(app, self, start_time=first_ts)
            chain = [self.Analyzer]
        self.build(src, *chain, self.Sink)
        self.T0 = None
        self.T1 = None
        self.PubSub.subscribe("bspump.pipeline.cycle_begin!", self.on_begin)
        self.PubSub.subscribe("bspump.pipeline.cycle_end!", self.on_end)

    def on_begin(self, event_name, pipeline):
        self.T0 = time.perf_counter()

    def on_end(self, event_name, pipeline):
        self.T1 = time.perf_counter()


app = bspump.BSPumpApplication()
svc = app.get_service("bspump.PumpService")
pipeline = BenchPipeline(app, "BenchPipeline")
svc.add_pipeline(pipeline)
app.run()

check = None
if pipeline.Analyzer is not None:
    pipeline.Analyzer.flush_all()
    a = pipeline.Analyzer
    check = {"windows": a.Windows, "count": a.TotalCount, "sum": a.TotalSum}
seconds = pipeline.T1 - pipeline.T0
print(json.dumps({
    "system": "original", "workload": workload, "out": pipeline.Sink.Count,
    "seconds": seconds, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "check": check,
}), file=sys.__stdout__)
