#!/usr/bin/env python3
"""Differential check of src/common/query.ts against the `mongoquery` library BSPump uses (optional;
the tests do not need it). Random queries and events; each query is validated as BSPump does
(`Query(q).match({})`); where mongoquery answers without raising, our matcher must give the same
answer, except for the differences docs/filter.md lists (MongoDB's array semantics for comparisons,
$eq/$ne/$regex on lists; a bare $regex pattern refused), which this generator avoids or skips.
Usage: PYTHON_WITH_MONGOQUERY=python3 python3 scripts/query-crosscheck.py [queries] [events]
Needs `mongoquery` importable (e.g. the bench venv of BSPump); run from the repository root.
"""
import json
import random
import subprocess
import sys
import os

import mongoquery

nq = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ne = int(sys.argv[2]) if len(sys.argv) > 2 else 60
rng = random.Random(18)
FIELDS = ["a", "b", "c"]
# No booleans: Python's True == 1 and False < 5 are not carried over (docs/filter.md).
SCALARS = ["x", "y", "", 0, 1, 2, 5, -1, 2.5, None]


def scalar():
    return rng.choice(SCALARS)


def value(depth=0):
    r = rng.random()
    if depth < 2 and r < 0.15:
        return [scalar() for _ in range(rng.randint(0, 3))]
    if depth < 2 and r < 0.25:
        return {k: value(depth + 1) for k in rng.sample(FIELDS, rng.randint(0, 2))}
    return scalar()


def event():
    return {k: value() for k in rng.sample(FIELDS, rng.randint(0, 3))}


def comparable():
    # Comparisons between a number and a string (or bool) differ by design only on lists.
    return rng.choice([0, 1, 2, 5, -1, 2.5, "x", "y"])


def condition(depth=0):
    r = rng.random()
    if r < 0.3:
        return scalar()
    op = rng.choice(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$not", "$size", "$all", "$elemMatch", "$mod", "$regex"])
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return {op: comparable()}
    if op in ("$in", "$nin", "$all"):
        return {op: [scalar() for _ in range(rng.randint(0, 3))]}
    if op == "$exists":
        return {op: rng.choice([True, False])}
    if op == "$type":
        return {op: rng.choice(["string", "number", "null", "object", "int"])}
    if op == "$not":
        return {op: condition(depth + 1) if depth < 2 else scalar()}
    if op == "$size":
        return {op: rng.randint(0, 3)}
    if op == "$elemMatch":
        return {op: {"$gt": comparable()}}
    if op == "$mod":
        return {op: [rng.choice([2, 3]), rng.choice([0, 1])]}
    if op == "$regex":
        return {op: rng.choice(["/^x/", "/y/i", "/^$/"])}
    return {op: scalar()}


def query(depth=0):
    q = {}
    for _ in range(rng.randint(1, 2)):
        r = rng.random()
        if depth < 1 and r < 0.2:
            q[rng.choice(["$and", "$or", "$nor"])] = [query(depth + 1) for _ in range(rng.randint(1, 2))]
        else:
            path = rng.choice(FIELDS) + (("." + rng.choice(FIELDS)) if rng.random() < 0.2 else "")
            q[path] = condition()
    return q


def touches_list(q, ev):
    """True where the answers differ by design: an operator of q may meet a list value (MongoDB's
    semantics here), or $elemMatch a string."""
    text = json.dumps(q)
    lists = any(isinstance(v, list) or (isinstance(v, dict) and any(isinstance(x, list) for x in v.values())) for v in ev.values())
    if lists and any(op in text for op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$regex", "$mod", "$type", "$not", "$nin")):
        return True
    # mongoquery's $elemMatch walks a string's characters (a str is a Python Sequence).
    return "$elemMatch" in text and any(isinstance(v, str) for v in ev.values())


cases = []
for _ in range(nq):
    q = query()
    try:
        mongoquery.Query(q).match({})
    except Exception:
        continue
    for _ in range(ne):
        ev = event()
        if touches_list(q, ev):
            continue
        try:
            want = mongoquery.Query(q).match(ev)
        except Exception:
            continue  # mongoquery raised (e.g. $mod on a string): a pipeline error in BSPump
        cases.append({"q": q, "e": ev, "want": bool(want)})

CHECK = r"""
import { readFileSync } from "node:fs";
import { compileQuery } from "./src/common/query.ts";
const cases = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const c of cases) {
  let got;
  try { got = compileQuery(c.q)(c.e); } catch (e) { got = "error: " + e.message; }
  if (got !== c.want) { if (++bad <= 15) console.log("DIFF", JSON.stringify(c), "got", got); }
}
console.log(`${cases.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
"""
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
proc = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", CHECK], cwd=root, input=json.dumps(cases).encode())
sys.exit(proc.returncode)
