import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");

/** `bspump demo --serve -w LISTEN`: the banner's URL must be one the dashboard answers on. */
async function banner(listen: string): Promise<string> {
  const child = spawn(process.execPath, [CLI, "demo", "--serve", "-w", listen, "-o", mkdtempSync(join(tmpdir(), "bspump-demo-"))], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  try {
    const deadline = Date.now() + 20_000;
    let url: string | undefined;
    while (!(url = /serving the dashboard on (\S+)/.exec(stdout)?.[1]) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.ok(url, `no banner: ${stdout}`);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    return url;
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  }
}

test("the demo's banner names the address the dashboard really listens on (`-w PORT` is 127.0.0.1:PORT)", async () => {
  // A bare port, as `-w 18085` (0: the system picks one, so the test never collides).
  assert.match(await banner("0"), /^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
  assert.match(await banner("127.0.0.1:0"), /^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
});
