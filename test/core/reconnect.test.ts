// withReconnect: the connect-with-backoff loop of the ftp, ssh and ldap connections.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withReconnect } from "../../src/core/index.js";
import { testApp } from "../helpers/components.js";

function logger() {
  const app = testApp();
  const warnings: string[] = [];
  app.logs.writer = (r) => {
    if (r.level === "warn") warnings.push(r.msg);
  };
  return { log: app.logs.logger("test"), warnings };
}

test("withReconnect: retries until the attempt works, one warning per failure, the delay doubling up to maxDelay", async () => {
  const { log, warnings } = logger();
  let n = 0;
  const failures: number[] = [];
  const result = await withReconnect(
    async () => {
      if (++n < 5) throw new Error(`refused ${n}`);
      return "connected";
    },
    { what: "X 1.2.3.4:5", log, delay: 0.01, maxDelay: 0.04, stopping: () => false, onFailure: (_e, attempt) => failures.push(attempt) },
  );
  assert.equal(result, "connected");
  assert.deepEqual(failures, [1, 2, 3, 4]);
  assert.deepEqual(warnings, [
    "X 1.2.3.4:5: refused 1; retrying in 0.0 s (attempt 1)",
    "X 1.2.3.4:5: refused 2; retrying in 0.0 s (attempt 2)",
    "X 1.2.3.4:5: refused 3; retrying in 0.0 s (attempt 3)",
    "X 1.2.3.4:5: refused 4; retrying in 0.0 s (attempt 4)",
  ]);
});

test("withReconnect: resolves null once stopping (also in the middle of a wait); rethrows what retryable refuses", async () => {
  const { log } = logger();
  let stopping = false;
  let stop!: () => void;
  const until = new Promise<void>((r) => (stop = r));
  const started = Date.now();
  const pending = withReconnect(() => Promise.reject(new Error("down")), { what: "Y", log, delay: 30, maxDelay: 60, stopping: () => stopping, until });
  setTimeout(() => {
    stopping = true;
    stop();
  }, 50);
  assert.equal(await pending, null);
  assert.ok(Date.now() - started < 5000, "the 30 s wait ended at the stop");
  await assert.rejects(withReconnect(() => Promise.reject(new Error("bad config")), { what: "Z", log, delay: 0.01, maxDelay: 0.01, stopping: () => false, retryable: (e) => e.message !== "bad config" }), /bad config/);
});
