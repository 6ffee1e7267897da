// SmtpSink against a real SMTP server on 127.0.0.1 (the smtp-server package), port 0 per test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { ConfigError, Pipeline, type DeadLetterEvent } from "../../src/core/index.js";
import { SmtpConnection, SmtpSink } from "../../src/mail/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { BatchSource, CollectSink, runUntil, testApp, until } from "../helpers/components.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const CERT = join(FIXTURES, "localhost.crt");

interface Received {
  from: string;
  rcpt: string[];
  headers: Record<string, string>;
  body: string;
  secure: boolean;
  user: string | undefined;
}

type Script = {
  /** An error (with responseCode) to refuse a recipient with, or null to take it. */
  rcpt?: (address: string, attempt: number) => { code: number; message: string } | null;
  auth?: { user: string; pass: string };
};

/** A receiving SMTP server: records each message it took (envelope, headers, body, TLS, user). */
async function receiver(script: Script = {}, tls: Partial<SMTPServerOptions> = {}) {
  const received: Received[] = [];
  let rcptAttempts = 0;
  let authAttempts = 0;
  const server = new SMTPServer({
    key: readFileSync(join(FIXTURES, "localhost.key")),
    cert: readFileSync(CERT),
    authOptional: script.auth === undefined,
    logger: false,
    ...tls,
    onAuth(auth, _session, callback) {
      authAttempts++;
      if (script.auth && auth.username === script.auth.user && auth.password === script.auth.pass) callback(null, { user: auth.username });
      else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const refusal = script.rcpt?.(address.address, ++rcptAttempts) ?? null;
      if (refusal) callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      else callback();
    },
    onData(stream, session: SMTPServerSession, callback) {
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => parts.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(parts).toString("utf8");
        const split = raw.indexOf("\r\n\r\n");
        const headers: Record<string, string> = {};
        for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcpt: session.envelope.rcptTo.map((a) => a.address),
          headers,
          body: raw.slice(split + 4).replace(/\r\n$/, "").replace(/\r\n/g, "\n"),
          secure: session.secure,
          user: session.user as string | undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    rcptAttempts: () => rcptAttempts,
    authAttempts: () => authAttempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function mailPipeline(port: number, events: unknown[], conn: Record<string, string | number | boolean> = {}, sink: Record<string, string | number> = {}) {
  const app = testApp();
  const connection = new SmtpConnection(app, "SmtpConnection", { config: { server: "127.0.0.1", port, from: "pump@example.com", to: "ops@example.com", retry_delay: 0.05, ...conn } });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "Mail");
  const dead = new CollectSink(app, pipeline, { id: "Dead" });
  pipeline.deadLetter = dead;
  const source = new BatchSource(app, pipeline);
  source.events = events;
  source.batchSize = 1;
  const smtp = new SmtpSink(app, pipeline, "SmtpConnection", { config: sink });
  pipeline.build(source, smtp);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink: smtp, connection, dead };
}

test("SmtpSink: one mail per event, subject/body templates from the event, from/to of the connection, in order", async () => {
  const server = await receiver();
  try {
    const events = Array.from({ length: 6 }, (_, i) => ({ host: `db${i}`, load: i + 0.5 }));
    const { app, source, connection } = mailPipeline(server.port, events, { cc: "audit@example.com" }, { subject: "Load on {{ host }}", body: "Host {{ host }} has load {{ load }}.\nEvent: {{ event | dump }}" });
    await runUntil(app, () => source.completions === 6);
    assert.equal(server.received.length, 6);
    server.received.forEach((m, i) => {
      assert.equal(m.from, "pump@example.com");
      assert.deepEqual(m.rcpt, ["ops@example.com", "audit@example.com"]);
      assert.equal(m.headers.subject, `Load on db${i}`);
      assert.equal(m.headers.from, "pump@example.com");
      assert.equal(m.headers.to, "ops@example.com");
      assert.equal(m.body, `Host db${i} has load ${i + 0.5}.\nEvent: {"host":"db${i}","load":${i + 0.5}}`);
      assert.equal(m.secure, false, "no STARTTLS unless use_start_tls");
    });
    assert.ok(source.batches.every((b) => b.error === null && b.settled === 1));
    assert.equal(connection.stats.sent, 6);
  } finally {
    await server.close();
  }
});

test("SmtpSink: without templates a string event is the body and the subject is the connection's (BSPump)", async () => {
  const server = await receiver();
  try {
    const { app, source } = mailPipeline(server.port, ["disk full on db1", Buffer.from("bytes body"), { a: 1 }], { subject: "Pump alert" });
    await runUntil(app, () => source.completions === 3);
    assert.deepEqual(server.received.map((m) => [m.headers.subject, m.body]), [["Pump alert", "disk full on db1"], ["Pump alert", "bytes body"], ["Pump alert", '{"a":1}']]);
  } finally {
    await server.close();
  }
});

test("SmtpSink: STARTTLS (self-signed certificate trusted by cafile) and AUTH", async () => {
  // allowInsecureAuth false (the default): the server takes AUTH only after STARTTLS.
  const server = await receiver({ auth: { user: "pump", pass: "s3cret" } });
  try {
    const { app, source } = mailPipeline(server.port, ["one", "two"], { use_start_tls: true, cafile: CERT, login: "pump", password: "s3cret" });
    await runUntil(app, () => source.completions === 2);
    assert.deepEqual(server.received.map((m) => [m.body, m.secure, m.user]), [["one", true, "pump"], ["two", true, "pump"]]);
    assert.ok(source.batches.every((b) => b.error === null));
  } finally {
    await server.close();
  }
});

test("SmtpSink: use_tls connects with TLS from the start (SMTPS)", async () => {
  const server = await receiver({}, { secure: true });
  try {
    const { app, source } = mailPipeline(server.port, ["over tls"], { use_tls: true, cafile: CERT });
    await runUntil(app, () => source.completions === 1);
    assert.deepEqual(server.received.map((m) => [m.body, m.secure]), [["over tls", true]]);
  } finally {
    await server.close();
  }
});

test("SmtpSink: wrong credentials fail each mail with a clear error (dead-lettered, not retried); nothing crashes", async () => {
  const server = await receiver({ auth: { user: "pump", pass: "s3cret" } });
  try {
    const { app, source, pipeline, dead, connection } = mailPipeline(server.port, ["a", "b"], { use_start_tls: true, cafile: CERT, login: "pump", password: "wrong" });
    await runUntil(app, () => source.completions === 2);
    assert.equal(server.received.length, 0);
    assert.equal(dead.events.length, 2);
    const records = dead.events as DeadLetterEvent[];
    assert.deepEqual(records.map((r) => r.event), ["a", "b"]);
    for (const r of records) assert.match(r.error.message, /SMTP authentication failed.*535/);
    assert.equal(server.authAttempts(), 2, "a permanent failure is not retried");
    assert.equal(pipeline.deadLettered, 2);
    assert.equal(connection.stats.failed, 2);
  } finally {
    await server.close();
  }
});

test("SmtpSink: a transient 4xx is retried (pipeline throttled meanwhile) — every mail arrives once, in order", async () => {
  // The first three RCPT commands are answered 451; then the server takes everything.
  // While a retry is due, the sink holds its pipeline back: seen at the retried RCPTs (2 and 3).
  let sink: SmtpSink | null = null;
  const throttledAtRetry: boolean[] = [];
  const server = await receiver({
    rcpt: (_a, n) => {
      if (n === 2 || n === 3) throttledAtRetry.push(sink!.throttled);
      return n <= 3 ? { code: 451, message: "Try again later" } : null;
    },
  });
  try {
    const events = Array.from({ length: 8 }, (_, i) => `mail ${i}`);
    const built = mailPipeline(server.port, events);
    const { app, source, connection, dead } = built;
    sink = built.sink;
    await runUntil(app, () => source.completions === 8, 15000);
    assert.deepEqual(server.received.map((m) => m.body), events);
    assert.equal(server.rcptAttempts(), 8 + 3);
    assert.equal(connection.stats.transient, 3);
    assert.deepEqual(throttledAtRetry, [true, true]);
    assert.equal(sink.throttled, false, "released after the retries");
    assert.equal(dead.events.length, 0);
    assert.ok(source.batches.every((b) => b.error === null && b.settled === 1));
  } finally {
    await server.close();
  }
});

test("SmtpSink: a refused recipient and an event without a template's attribute fail alone; the others are delivered", async () => {
  const server = await receiver({ rcpt: (a) => (a === "bad@example.com" ? { code: 550, message: "No such user" } : null) });
  try {
    const events = [{ user: "ann", msg: "hi" }, { user: "bad", msg: "refused" }, { msg: "no user key" }, { user: "bob", msg: "bye" }];
    const { app, source, dead } = mailPipeline(server.port, events, {}, { to: "{{ user }}@example.com", subject: "For {{ user }}", body: "{{ msg }}" });
    await runUntil(app, () => source.completions === 4);
    assert.deepEqual(server.received.map((m) => [m.rcpt, m.headers.subject, m.body]), [[["ann@example.com"], "For ann", "hi"], [["bob@example.com"], "For bob", "bye"]]);
    const records = dead.events as DeadLetterEvent[];
    assert.equal(records.length, 2);
    const byMsg = new Map(records.map((r) => [(r.event as { msg: string }).msg, r.error.message]));
    assert.match(byMsg.get("refused")!, /refused.*550/i);
    assert.match(byMsg.get("no user key")!, /SmtpSink: template 'subject' failed: \[Line 1, Column 5\] attempted to output null or undefined value/);
  } finally {
    await server.close();
  }
});

test("SmtpSink: a mail whose recipients are partly refused goes to the others; the refusal is counted, the receipt settles", async () => {
  const server = await receiver({ rcpt: (a) => (a === "bad@example.com" ? { code: 550, message: "No such user" } : null) });
  try {
    const { app, source, connection, dead } = mailPipeline(server.port, ["to both"], { to: "ann@example.com, bad@example.com" });
    await runUntil(app, () => source.completions === 1);
    assert.deepEqual(server.received.map((m) => [m.rcpt, m.body]), [[["ann@example.com"], "to both"]]);
    assert.equal(connection.stats.rejected_recipients, 1);
    assert.equal(dead.events.length, 0);
    assert.equal(source.batches[0]!.error, null);
  } finally {
    await server.close();
  }
});

test("SmtpSink mode=batch: one mail per batch_size events, body one line per event (or a template over `events`)", async () => {
  const server = await receiver();
  try {
    const events = Array.from({ length: 25 }, (_, i) => `line ${i}`);
    const { app, source } = mailPipeline(server.port, events, {}, { mode: "batch", batch_size: 10, batch_period: 0.2, subject: "{{ count }} events" });
    await runUntil(app, () => source.completions === 25);
    assert.deepEqual(server.received.map((m) => m.headers.subject), ["10 events", "10 events", "5 events"]);
    assert.deepEqual(server.received.flatMap((m) => m.body.split("\n")), events);
  } finally {
    await server.close();
  }
  const server2 = await receiver();
  try {
    const events = [{ n: 1 }, { n: 2 }, { n: 3 }];
    const { app, source } = mailPipeline(server2.port, events, {}, { mode: "batch", batch_size: 3, body: "{% for e in events %}n={{ e.n }};{% endfor %}" });
    await runUntil(app, () => source.completions === 3);
    assert.deepEqual(server2.received.map((m) => m.body), ["n=1;n=2;n=3;"]);
  } finally {
    await server2.close();
  }
  // A batch whose template needs a missing value fails once, as a whole, with its events; the next batch goes on.
  const server3 = await receiver();
  try {
    const events = [{ n: 1 }, { n: 2 }, { x: 3 }, { n: 4 }];
    const { app, source, dead } = mailPipeline(server3.port, events, {}, { mode: "batch", batch_size: 2, body: "{% for e in events %}{{ e.n }};{% endfor %}" });
    await runUntil(app, () => source.completions === 4);
    assert.deepEqual(server3.received.map((m) => m.body), ["1;2;"]);
    const records = dead.events as DeadLetterEvent[];
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]!.event, [{ x: 3 }, { n: 4 }]);
    assert.match(records[0]!.error.message, /SmtpSink: template 'body' failed/);
  } finally {
    await server3.close();
  }
});

test("YAML: mail.SmtpConnection and mail.SmtpSink (args.connection) build and deliver", async () => {
  const server = await receiver();
  try {
    const yaml = `
connections:
  - class: mail.SmtpConnection
    id: Mailer
    config: {server: 127.0.0.1, port: ${server.port}, from: pump@example.com, to: ops@example.com}
pipelines:
  - id: Numbers
    sources:
      - class: random.RandomSource
        config: {field: n, number: 5, seed: 3, event_idle_time: 0}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    sink:
      class: mail.SmtpSink
      args: {connection: Mailer}
      config: {mode: batch, batch_size: 5, subject: "{{ count }} numbers", body: "{% for e in events %}{{ e.n }} {% endfor %}"}
`;
    const app = testApp();
    await new PumpBuilder("mail.yaml", yaml).constructPump(app);
    const running = app.run();
    await until(() => server.received.length === 1);
    app.stop();
    assert.equal(await running, 0);
    assert.equal(server.received[0]!.headers.subject, "5 numbers");
    assert.equal(server.received[0]!.body.trim().split(" ").length, 5);
    assert.deepEqual(server.received[0]!.rcpt, ["ops@example.com"]);
  } finally {
    await server.close();
  }
});

test("SmtpSink: bad config is a ConfigError naming section and key", () => {
  const app = testApp();
  const connection = new SmtpConnection(app, "Smtp", { config: { to: "a@example.com" } });
  app.pumpService.addConnection(connection);
  const pipeline = new Pipeline(app, "P");
  assert.throws(() => new SmtpSink(app, pipeline, connection, { config: { subject: "{{ oops" } }), (e: unknown) => e instanceof ConfigError && /\[pipeline:P:SmtpSink\] key 'subject': not a valid template/.test(e.message));
  assert.throws(() => new SmtpSink(app, pipeline, connection, { config: { mode: "digest" } }), ConfigError);
  assert.throws(() => new SmtpConnection(app, "Both", { config: { use_tls: true, use_start_tls: true } }), /use_tls and use_start_tls/);
  assert.throws(() => new SmtpConnection(app, "NoCA", { config: { cafile: "/nonexistent/ca.pem" } }), /\[connection:NoCA\] key 'cafile'/);
});
