import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { filesHeldOpen, firstNotHeldOpen, openCheckMethod, refusalMeansOpen, walkProcForOpenFiles, type OpenFileChecks } from "../../src/file/openfiles.js";
import { until, withTempDir } from "./helpers.js";

/** Another process that holds `path` open on descriptor 3, for writing (">>") or reading ("<"), until killed. */
async function holder(path: string, how: ">>" | "<"): Promise<ChildProcess> {
  const child = spawn("sh", ["-c", `exec 3${how}"$0"; exec sleep 60`, path], { stdio: "ignore" });
  await until(() => {
    try {
      return readlinkSync(`/proc/${child.pid}/fd/3`) === path;
    } catch {
      return false;
    }
  }, 10000, `process ${child.pid} holding ${path}`);
  return child;
}

/** The native module itself (built by scripts/build-native), with the test-only hold time. */
function nativeLeaseCheck(): { heldOpen(path: string, anyOpen: boolean, holdMicroseconds?: number): number } {
  return createRequire(import.meta.url)("../../dist/native/openlease.node") as { heldOpen(path: string, anyOpen: boolean, holdMicroseconds?: number): number };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

test("the native lease check is built on this machine (scripts/build-native)", () => {
  // Without it every check walks /proc; this keeps CI from silently testing only the fallback.
  assert.equal(openCheckMethod(), "lease", "dist/native/openlease.node is missing: run `npm run build` (needs cc and Node's headers)");
});

test("files held open by another process: for writing, for reading, not at all — the lease check and the /proc walk agree", async () => {
  await withTempDir(async (dir) => {
    const [written, read, free] = ["written.txt", "read.txt", "free.txt"].map((name) => join(dir, name)) as [string, string, string];
    for (const path of [written, read, free]) await writeFile(path, "x\n");
    const writer = await holder(written, ">>");
    const reader = await holder(read, "<");
    try {
      const all = [written, read, free];
      const native = nativeLeaseCheck();
      assert.deepEqual(all.map((path) => native.heldOpen(path, false)), [1, 0, 0], "lease for writing");
      assert.deepEqual(all.map((path) => native.heldOpen(path, true)), [1, 1, 0], "lease for any open");
      assert.equal(native.heldOpen(join(dir, "missing.txt"), false), -2, "-ENOENT");
      assert.deepEqual([...filesHeldOpen(all, "write")], [written]);
      assert.deepEqual([...filesHeldOpen(all, "any")].sort(), [read, written]);
      const walked = walkProcForOpenFiles(all);
      assert.deepEqual([...walked.keys()].sort(), [read, written]);
      assert.equal(walked.get(written)!.write, true);
      assert.equal(walked.get(read)!.write, false);
      assert.equal(firstNotHeldOpen(all, "write"), 1);
      assert.equal(firstNotHeldOpen(all, "any"), 2);
      assert.equal(firstNotHeldOpen([written], "write"), -1);
    } finally {
      await stop(writer);
      await stop(reader);
    }
    assert.deepEqual([...filesHeldOpen([written, read, free], "any")], []);
    assert.equal(firstNotHeldOpen([written, read, free], "write"), 0);
  });
});

test("a descriptor open for writing in this very process counts too", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "mine.txt");
    await writeFile(path, "x\n");
    const fd = openSync(path, "a");
    try {
      assert.deepEqual([...filesHeldOpen([path], "write")], [path]);
      assert.equal(walkProcForOpenFiles([path]).get(path)?.write, true);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual([...filesHeldOpen([path], "write")], []);
  });
});

test("a file the kernel cannot tell about (here: gone) is decided by the /proc walk, in order", async () => {
  await withTempDir(async (dir) => {
    const gone = join(dir, "gone.txt");
    const written = join(dir, "written.txt");
    await writeFile(written, "x\n");
    const writer = await holder(written, ">>");
    try {
      // The lease check answers -ENOENT for `gone`; the walk then decides for it and the rest.
      assert.equal(firstNotHeldOpen([written, gone, written], "write"), 1);
      assert.deepEqual([...filesHeldOpen([gone, written], "write")], [written]);
    } finally {
      await stop(writer);
    }
  });
});

test("a writer that opens the file while the lease is held does not kill this process (the break signal is SIGURG, not SIGIO)", async () => {
  const native = nativeLeaseCheck();
  await withTempDir(async (dir) => {
    const path = join(dir, "raced.txt");
    await writeFile(path, "x\n");
    // The writer opens after 0.2 s, while the lease is held for 0.8 s: the kernel breaks the lease
    // and signals this process. With the default SIGIO, Node would die here ("I/O possible").
    const writer = spawn("sh", ["-c", `sleep 0.2; exec 3>>"$0"; exec sleep 60`, path], { stdio: "ignore" });
    try {
      assert.equal(native.heldOpen(path, false, 800_000), 0);
      await until(() => {
        try {
          return readlinkSync(`/proc/${writer.pid}/fd/3`) === path;
        } catch {
          return false;
        }
      }, 10000, "the writer holding the file");
      assert.deepEqual([...filesHeldOpen([path], "write")], [path]);
    } finally {
      await stop(writer);
    }
  });
});

test("a lease refused while nobody holds the file (NFS, SMB: no delegation) does not keep the file from being read", async () => {
  await withTempDir(async (dir) => {
    const [first, second] = ["first.txt", "second.txt"].map((name) => join(dir, name)) as [string, string];
    for (const path of [first, second]) await writeFile(path, "x\n");
    // A network filesystem: every lease refused, and a refusal is not taken as an open.
    const network: OpenFileChecks = { lease: { heldOpen: () => 1 }, refusalMeansOpen: () => false };
    assert.equal(firstNotHeldOpen([first, second], "write", 0, network), 0);
    assert.deepEqual([...filesHeldOpen([first, second], "any", network)], []);
    const writer = await holder(first, ">>");
    try {
      assert.equal(firstNotHeldOpen([first, second], "write", 0, network), 1);
    } finally {
      await stop(writer);
    }
    // On a local filesystem a refusal is an open: no walk, both files count as held.
    const local: OpenFileChecks = { lease: { heldOpen: () => 1 }, refusalMeansOpen: () => true };
    assert.equal(firstNotHeldOpen([first, second], "write", 0, local), -1);
    assert.deepEqual([...filesHeldOpen([first, second], "write", local)], [first, second]);
  });
});

test("a refused lease is trusted on local filesystems only (statfs type)", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "local.txt");
    await writeFile(path, "x\n");
    assert.equal(refusalMeansOpen(path), true, "the temporary folder is on ext4/xfs/btrfs/tmpfs here");
    assert.equal(refusalMeansOpen("/proc/self/status"), false);
    assert.equal(refusalMeansOpen(join(dir, "missing.txt")), false);
  });
});
