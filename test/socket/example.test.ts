import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

test("examples/tcp-json-to-file.ts: TCP lines → JSON → file; the malformed line is a warning", async () => {
  const example = fileURLToPath(new URL("../../examples/tcp-json-to-file.ts", import.meta.url));
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", example], { timeout: 60000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  assert.equal(out, '{"id":1,"name":"Ann"}\n{"id":2,"name":"Bob"}\n{"id":3,"name":"Cyd"}\nevents in: 4, written: 3, warnings: 1\n');
});
