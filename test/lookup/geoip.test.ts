import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { GeoIPEnricher } from "../../src/lookup/index.js";
import { runProcessor } from "../../src/unittest/index.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const dbs = { db_path: `${fixtures}test-city.mmdb`, asn_db_path: `${fixtures}test-asn.mmdb` };

test("GeoIPEnricher: IPv4, IPv6, unknown, private and malformed addresses", async () => {
  const input = [
    { ip: "81.2.69.160" },
    { ip: "2001:db8:1::5" },
    { ip: "2a02:598::1" },
    { ip: "8.8.8.8" },
    { ip: "10.1.2.3" },
    { ip: "192.168.0.1" },
    { ip: "fd00::1" },
    { ip: "not-an-ip" },
    { ip: "1.2.3.999" },
    { ip: 42 },
    { other: 1 },
    { ip: "1.130.0.1" },
    { ip: "::ffff:81.2.69.1" },
  ];
  const { events, pipeline, exitCode, processor, app } = await runProcessor(GeoIPEnricher, input.map((e) => [null, e] as const), { config: dbs });
  assert.equal(exitCode, 0);
  assert.equal(events.length, input.length, "nothing lost");
  assert.deepEqual(events[0], {
    ip: "81.2.69.160",
    geo: { country_code: "GB", city_name: "London", location: { lat: 51.5142, lon: -0.0931 }, asn: 20712, as_org: "Andrews & Arnold Ltd" },
  });
  assert.deepEqual(events[1], {
    ip: "2001:db8:1::5",
    geo: { country_code: "CZ", city_name: "Prague", location: { lat: 50.088, lon: 14.4208 }, asn: 64500, as_org: "Example IPv6 AS" },
  });
  assert.deepEqual(events[2], { ip: "2a02:598::1", geo: { country_code: "CZ", location: { lat: 49.75, lon: 15.5 } } }, "no city in the record");
  for (const i of [3, 4, 5, 6, 7, 8, 9, 10]) assert.equal((events[i] as Record<string, unknown>).geo, undefined, `event ${i} unchanged`);
  assert.deepEqual((events[11] as { geo: unknown }).geo, { asn: 1221, as_org: "Telstra Pty Ltd" }, "only in the ASN db");
  assert.equal((events[12] as { geo: { city_name: string } }).geo.city_name, "London", "IPv4-mapped IPv6");
  const counts = (processor as GeoIPEnricher).counts;
  assert.deepEqual({ ...counts }, { enriched: 5, unknown: 1, private: 3, malformed: 3, missing: 1 });
  assert.equal(pipeline.warnings, 3, "malformed addresses are counted warnings");
  assert.equal(pipeline.isError(), false);
  const prom = app.metrics.toPrometheus();
  assert.match(prom, /bspump_geoip_malformed_total\{pipeline="UnitTestPipeline",processor="GeoIPEnricher"\} 3/);
});

test("GeoIPEnricher: configurable fields, nested, into the event itself", async () => {
  const { events } = await runProcessor(GeoIPEnricher, [[null, { client: { addr: "89.160.20.112" } }]], {
    config: { db_path: dbs.db_path, ip_field: "client.addr", target_field: "", country_field: "cc", country_name_field: "country", city_field: "", location_field: "pos" },
  });
  assert.deepEqual(events[0], { client: { addr: "89.160.20.112" }, cc: "SE", country: "Sweden", pos: { lat: 58.4167, lon: 15.6167 } });
});

test("GeoIPEnricher: a database is required", async () => {
  await assert.rejects(async () => runProcessor(GeoIPEnricher, [], { config: {} }), /db_path/);
});
