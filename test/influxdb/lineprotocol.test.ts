import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeKey, escapeMeasurement, fieldValue, pointLine, timestamp } from "../../src/influxdb/index.js";

test("escaping of measurement, tag keys/values, field keys and string values", () => {
  assert.equal(escapeMeasurement("cpu load,x"), "cpu\\ load\\,x");
  assert.equal(escapeMeasurement("a=b"), "a=b");
  assert.equal(escapeKey("host name=a,b"), "host\\ name\\=a\\,b");
  assert.equal(escapeKey("back\\slash"), "back\\\\slash");
  assert.equal(fieldValue('say "hi" \\ now', "bigint"), '"say \\"hi\\" \\\\ now"');
});

test("field values: floats, integers with i, booleans, null skipped, bad numbers refused", () => {
  assert.equal(fieldValue(1.5, "bigint"), "1.5");
  assert.equal(fieldValue(3, "bigint"), "3");
  assert.equal(fieldValue(3, "auto"), "3i");
  assert.equal(fieldValue(-7n, "bigint"), "-7i");
  assert.equal(fieldValue(2n ** 62n, "bigint"), "4611686018427387904i");
  assert.equal(fieldValue(true, "bigint"), "true");
  assert.equal(fieldValue(false, "bigint"), "false");
  assert.equal(fieldValue(null, "bigint"), null);
  assert.equal(fieldValue(undefined, "bigint"), null);
  assert.throws(() => fieldValue(Number.NaN, "bigint"), /finite/);
  assert.throws(() => fieldValue(Infinity, "auto"), /finite/);
});

test("timestamps in every precision, exact for ns", () => {
  assert.equal(timestamp(1234567890, "ns"), "1234567890000000000");
  assert.equal(timestamp(1234567890.123456, "ns"), "1234567890123456000");
  assert.equal(timestamp(1234567890.5, "u"), "1234567890500000");
  assert.equal(timestamp(1234567890.5, "ms"), "1234567890500");
  assert.equal(timestamp(1234567890.9, "s"), "1234567890");
  assert.equal(timestamp(3600 * 5 + 59, "h"), "5");
  assert.equal(timestamp(120, "m"), "2");
  assert.equal(timestamp(new Date(1700000000123), "ns"), "1700000000123000000");
  assert.equal(timestamp(new Date(1700000000123), "s"), "1700000000");
  assert.equal(timestamp(42n, "ms"), "42");
  assert.throws(() => timestamp("yesterday", "s"), /timestamp/);
});

test("pointLine: tags sorted, empty tags dropped, fields in order, timestamp, refusals", () => {
  assert.equal(
    pointLine({ measurement: "cpu", tags: { region: "eu west", host: "a", empty: "" }, fields: { value: 0.5, up: true, n: 3n, msg: "ok" }, time: 1 }, "s", "bigint"),
    'cpu,host=a,region=eu\\ west value=0.5,up=true,n=3i,msg="ok" 1\n',
  );
  assert.equal(pointLine({ measurement: "m", fields: { a: null, b: 1 } }, "ns", "auto"), "m b=1i\n");
  assert.throws(() => pointLine({ measurement: "m", fields: { a: null } }, "ns", "auto"), /no field values/);
  assert.throws(() => pointLine({ measurement: "", fields: { a: 1 } }, "ns", "auto"), /measurement/);
});

test("millisecond timestamps from fractional seconds are not truncated by float error", () => {
  for (let i = 0; i < 5000; i++) assert.equal(timestamp(1700000000 + i * 0.001, "ms"), String(1700000000000 + i));
  for (let i = 0; i < 2000; i++) assert.equal(timestamp(1700000000 + i * 0.000001, "u"), String(1700000000000000 + i));
});
