// @services ldap
// LDAPConnection and LDAPSource against the slapd of scripts/services/ldap (ldap://127.0.0.1:3389,
// ldaps://127.0.0.1:6636), base dc=bspump,dc=test seeded with 30 people (uid=user00…user29) and a group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, PeriodicTrigger, Pipeline, RunOnceTrigger } from "../../src/core/index.js";
import { LDAPConnection, LDAPSource, type LDAPEntry } from "../../src/ldap/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { CollectSink, runUntil, testApp, until } from "../helpers/components.js";

const REPO = join(import.meta.dirname, "../..");
const SERVICES = process.env.BSPUMP_SERVICES_DIR ?? join(REPO, ".services");
const CERT = join(SERVICES, "ldap/cert.pem");
const BASE = "dc=bspump,dc=test";
const ADMIN = { host: "127.0.0.1", port: 3389, username: `cn=admin,${BASE}`, password: "bspump" };
const PEOPLE = `ou=people,${BASE}`;

function ldapPipeline(connectionConfig: Record<string, string | number | boolean>, sourceConfig: Record<string, string | number>, periodic = false) {
  const app = testApp();
  const connection = new LDAPConnection(app, "LDAP", { config: { ...ADMIN, reconnect_delay: 0.05, max_reconnect_delay: 0.1, ...connectionConfig } });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "LDAPPipeline");
  const source = new LDAPSource(app, pipeline, "LDAP", { config: { base: PEOPLE, filter: "(objectClass=inetOrgPerson)", ...sourceConfig } });
  source.on(periodic ? new PeriodicTrigger(app, 0.05) : new RunOnceTrigger(app));
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const warnings: string[] = [];
  app.logs.writer = (r) => {
    if (r.level === "warn") warnings.push(r.msg);
  };
  return { app, pipeline, source, sink, connection, warnings };
}

const byUid = (events: unknown[], uid: string) => (events as LDAPEntry[]).find((e) => e.dn === `uid=${uid},${PEOPLE}`)!;

test("LDAPSource: a paged search, one object per entry with dn; values as bytes (BSPump), multi-values as lists, context {base}", async () => {
  const { app, source, sink, pipeline } = ldapPipeline({}, { results_per_page: 7 });
  await runUntil(app, () => source.stats.cycles === 1 && sink.events.length === 30);
  await until(() => !source.isTriggered);
  assert.equal(source.stats.pages, 5, "30 entries in pages of 7");
  assert.equal(new Set((sink.events as LDAPEntry[]).map((e) => e.dn)).size, 30);
  const u5 = byUid(sink.events, "user05");
  assert.ok(Buffer.isBuffer(u5.uid) && u5.uid.toString() === "user05", "a single value is unwrapped, and bytes");
  assert.equal(String(u5.mail), "user05@bspump.test");
  const u0 = byUid(sink.events, "user00");
  assert.ok(Array.isArray(u0.mail));
  assert.deepEqual((u0.mail as Buffer[]).map(String), ["user00@bspump.test", "user00.alias@bspump.test"]);
  assert.equal(Buffer.from(byUid(sink.events, "user02").cn as Buffer).toString("utf8"), "Žluťoučký kůň");
  assert.deepEqual(sink.contexts[0], { base: PEOPLE });
  assert.equal(pipeline.errors, 0);
});

test("LDAPSource values=str, attributes: only those attributes; an attribute without values is left out", async () => {
  const { app, source, sink } = ldapPipeline({}, { attributes: "uid cn mail", values: "str", filter: "(|(uid=user00)(uid=user01)(uid=user02))" });
  await runUntil(app, () => source.stats.cycles === 1 && sink.events.length === 3);
  assert.deepEqual(byUid(sink.events, "user00"), { dn: `uid=user00,${PEOPLE}`, uid: "user00", cn: "User 00", mail: ["user00@bspump.test", "user00.alias@bspump.test"] });
  assert.deepEqual(byUid(sink.events, "user01"), { dn: `uid=user01,${PEOPLE}`, uid: "user01", cn: "User 01" }, "mail requested but absent: dropped");
  assert.equal(byUid(sink.events, "user02").cn, "Žluťoučký kůň");
});

test("LDAPSource scope one from the base: the two organizational units only", async () => {
  const { app, source, sink } = ldapPipeline({}, { base: BASE, scope: "one", filter: "(objectClass=*)", values: "str", attributes: "ou" });
  await runUntil(app, () => source.stats.cycles === 1 && sink.events.length === 2);
  await until(() => !source.isTriggered);
  assert.deepEqual((sink.events as LDAPEntry[]).map((e) => e.ou).sort(), ["groups", "people"]);
});

test("LDAPConnection over ldaps: tls_require_cert demand with tls_cafile works; demand without the CA is refused and retried", async () => {
  {
    const { app, source, sink } = ldapPipeline({ port: 0, tls_enabled: true, uri: "ldaps://127.0.0.1:6636", tls_require_cert: "demand", tls_cafile: CERT }, { filter: "(uid=user07)", values: "str" });
    await runUntil(app, () => source.stats.cycles === 1 && sink.events.length === 1);
    assert.equal((sink.events[0] as LDAPEntry).uid, "user07");
  }
  {
    const { app, source, connection, warnings } = ldapPipeline({ uri: "ldaps://127.0.0.1:6636", tls_require_cert: "demand" }, {});
    await runUntil(app, () => connection.stats.failed_binds >= 2);
    assert.equal(source.stats.entries, 0);
    assert.match(warnings[0]!, /^LDAP ldaps:\/\/127\.0\.0\.1:6636 \(connection 'LDAP'\): .*(self-signed|certificate)/i);
  }
  {
    // BSPump's default, never: the self-signed certificate is accepted.
    const { app, source, sink } = ldapPipeline({ tls_enabled: true, port: 6636 }, { filter: "(uid=user08)" });
    await runUntil(app, () => source.stats.cycles === 1 && sink.events.length === 1);
  }
});

for (const [what, config, pattern] of [
  ["a wrong password", { password: "wrong" }, /bind as 'cn=admin,dc=bspump,dc=test' refused: wrong DN or password/],
  ["an unreachable server", { port: 1 }, /ECONNREFUSED/],
] as const) {
  test(`LDAPSource: ${what} is a clear warning, retried with backoff until stop; no crash, no pipeline error`, async () => {
    const { app, source, pipeline, connection, warnings } = ldapPipeline(config, {});
    await runUntil(app, () => connection.stats.failed_binds >= 3);
    assert.equal(source.stats.entries, 0);
    assert.equal(pipeline.errors, 0);
    assert.match(warnings[0]!, /^LDAP ldap:\/\/127\.0\.0\.1:(3389|1) \(connection 'LDAP'\): .+; retrying in 0\.1 s \(attempt 1\)$/);
    assert.match(warnings[0]!, pattern);
  });
}

test("LDAPSource: a base that does not exist ends each cycle with a warning, not a pipeline error", async () => {
  const { app, source, pipeline, warnings } = ldapPipeline({}, { base: `ou=nobody,${BASE}` }, true);
  await runUntil(app, () => source.stats.failures >= 2);
  assert.equal(pipeline.errors, 0);
  assert.match(warnings[0]!, /base entry does not exist/);
});

test("LDAPSource: a filter that does not parse, and a bad uri, are ConfigErrors at start", () => {
  const app = testApp();
  const connection = new LDAPConnection(app, "L", { config: ADMIN });
  assert.throws(() => new LDAPSource(app, new Pipeline(app, "P"), connection, { config: { filter: "(uid=user00" } }), (e: unknown) => e instanceof ConfigError && /filter/.test(e.message));
  assert.throws(() => new LDAPConnection(app, "M", { config: { uri: "http://x" } }), /not an ldap:\/\/ or ldaps:\/\/ URI/);
  assert.throws(() => new LDAPConnection(app, "N", { config: { tls_require_cert: "maybe" } }), ConfigError);
});

test("YAML: ldap.LDAPConnection and ldap.LDAPSource (args.connection) build and search", async () => {
  const yaml = `
connections:
  - class: ldap.LDAPConnection
    id: Directory
    config: {host: 127.0.0.1, port: 3389, username: "cn=admin,${BASE}", password: bspump}
pipelines:
  - id: People
    sources:
      - class: ldap.LDAPSource
        args: {connection: Directory}
        config: {base: "${PEOPLE}", filter: "(objectClass=inetOrgPerson)", attributes: uid, results_per_page: 10}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    sink:
      class: common.NullSink
`;
  const app = testApp();
  await new PumpBuilder("ldap.yaml", yaml).constructPump(app);
  const pipeline = app.pumpService.locate("People") as Pipeline;
  const running = app.run();
  await until(() => pipeline.eventIn === 30);
  app.stop();
  assert.equal(await running, 0);
});

test("LDAPSource follows the pipeline: while it is throttled no entry is handed over and no further page is asked for", async () => {
  const { app, source, sink, pipeline } = ldapPipeline({}, { results_per_page: 5 });
  const holder = {};
  let throttled = false;
  const original = sink.process.bind(sink);
  sink.process = (context, event) => {
    const out = original(context, event);
    if (sink.events.length === 5 && !throttled) {
      throttled = true;
      pipeline.throttle(holder, true);
    }
    return out;
  };
  const running = app.run();
  try {
    await until(() => throttled);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.events.length, 5, "nothing more while throttled");
    assert.equal(source.stats.pages, 1, "the second page is not fetched yet");
    pipeline.throttle(holder, false);
    await until(() => sink.events.length === 30);
    assert.equal(source.stats.pages, 6);
  } finally {
    app.stop();
  }
  assert.equal(await running, 0);
});
