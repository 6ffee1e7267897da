"""D1 against the original: the same declaration in the original BSPump's DeclarativeProcessor
(PyPI `bitswan`, which ships the `bspump` module). Harness code only: bspump's own
ExpressionBuilder/ExpressionOptimizer (through DeclarativeProcessor.initialize()) and its
DictionaryLookup; the engine is not patched.

The processor is called in a plain loop, without a pipeline around it: that leaves out the
original's per-event pipeline cost, so its events/s here are an upper bound (the ratio against the
port is, if anything, understated).

Usage: python bench/original_declarative.py <declaration.yaml> <lines.txt> <ips.json> <events>
Prints one JSON line: {"events": n, "seconds": wall, "cpu": cpu, "check": {...}}
"""
import asyncio
import json
import sys
import time

decl_file, lines_file, ips_file, events = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.argv = sys.argv[:1]  # the application parses the command line

import bspump  # noqa: E402
import bspump.declarative  # noqa: E402
from bspump.abc.lookup import DictionaryLookup  # noqa: E402

with open(decl_file) as f:
    declaration = f.read()
with open(lines_file) as f:
    lines = f.read().split("\n")
with open(ips_file) as f:
    countries = json.load(f)

app = bspump.BSPumpApplication(args=[])
svc = app.get_service("bspump.PumpService")
lookup = DictionaryLookup(app, "ClientCountry")
lookup.Dictionary.update(countries)
svc.add_lookup(lookup)


class Bench(bspump.Pipeline):
    pass


pipeline = Bench(app, "Bench")
processor = bspump.declarative.DeclarativeProcessor(app, pipeline, declaration)
asyncio.get_event_loop().run_until_complete(processor.initialize())


def check(outputs):
    # The same digest as bench/declarative.ts computes from the port's outputs.
    return {
        "status": sum(o["status"] for o in outputs),
        "bytes": sum(o["bytes"] for o in outputs),
        "timestamp": round(sum(o["@timestamp"] for o in outputs)),
        "country": sum(1 for o in outputs if "country" in o),
        "status_class": sorted({o["status_class"] for o in outputs}),
        "known_method": sum(1 for o in outputs if o["known_method"]),
    }


digest = check([processor.process({}, line) for line in lines])

process = processor.process
n = len(lines)
wall0, cpu0 = time.perf_counter(), time.process_time()
count = 0
for i in range(events):
    if process({}, lines[i % n]) is not None:
        count += 1
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
print(json.dumps({"events": count, "seconds": wall, "cpu": cpu, "check": digest}))
