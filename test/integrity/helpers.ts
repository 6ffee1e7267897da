/** BSPump's IntegrityEnricher.process(), as bspump/integrity/enricher.py does it, over NDJSON events. */
export const PY_ENRICHER = `
import hashlib, json, secrets, sys
prev = None
for line in sys.stdin.read().splitlines():
    event = json.loads(line)
    event.pop("_id", None)
    event["_s"] = secrets.token_urlsafe(3)
    if prev is None:
        event.pop("_prev_id", None)
    else:
        event["_prev_id"] = prev
    h = hashlib.new("SHA256", json.dumps(event).encode()).hexdigest()
    event["_id"] = h
    prev = h
    print(json.dumps(event))
`;
