import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

test("examples/subprocess-tail.ts: tail -F → WebSocket; every appended line arrives, and the app exits", async () => {
  const example = fileURLToPath(new URL("../../examples/subprocess-tail.ts", import.meta.url));
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", example], { timeout: 60000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  assert.equal(out, [1, 2, 3, 4, 5].map((i) => `received: line ${i}\n`).join("") + "lines: 5, sent: 5\n");
});
