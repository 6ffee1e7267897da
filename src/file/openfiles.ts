import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createRequire } from "node:module";

/** What to look for: any process holding the file open for writing, or holding it open at all. */
export type HeldFor = "write" | "any";

export interface LeaseCheck {
  heldOpen(path: string, anyOpen: boolean): number;
}

/**
 * The native check (src/file/openlease.c, built by scripts/build-native into dist/native/), or null
 * when it was not built. Looked for from both src/file (tests run the sources) and dist/src/file.
 */
const leaseCheck: LeaseCheck | null = loadLeaseCheck();

function loadLeaseCheck(): LeaseCheck | null {
  if (process.platform !== "linux" || process.env["BSPUMP_NO_NATIVE"] === "1") return null;
  const require = createRequire(import.meta.url);
  for (const candidate of ["../../dist/native/openlease.node", "../../native/openlease.node"]) {
    try {
      return require(candidate) as LeaseCheck;
    } catch {
      // not built there; try the next place
    }
  }
  return null;
}

/** How `filesHeldOpen` finds out: "lease" (one kernel call per file) or "proc" (a walk of /proc). */
export function openCheckMethod(): "lease" | "proc" | "none" {
  if (process.platform !== "linux") return "none";
  return leaseCheck ? "lease" : "proc";
}

/**
 * Which of the given files some process holds open — for writing, or at all with `heldFor = "any"`
 * (BSPump's `_is_file_open()` was a stub). Paths must be absolute. Asks the kernel with a file
 * lease where it can (see openlease.c): a lease granted means no such open, for certain. A refused
 * one is confirmed by walking /proc, as are files the kernel cannot tell about (not ours, a
 * filesystem without leases) and every file when the native check is not built: NFS and SMB
 * refuse leases with the same EAGAIN when the client holds no delegation, and a file refused
 * that way must not be skipped for ever. Where /proc is not available (not Linux), reports
 * nothing open. `lease` is there for tests (another check, or none).
 */
export function filesHeldOpen(paths: readonly string[], heldFor: HeldFor, lease: LeaseCheck | null = leaseCheck): Set<string> {
  const held = new Set<string>();
  if (paths.length === 0 || process.platform !== "linux") return held;
  const unsure = lease ? paths.filter((path) => lease.heldOpen(path, heldFor === "any") !== 0) : paths;
  if (unsure.length > 0) {
    for (const [path, how] of walkProcForOpenFiles(unsure)) {
      if (heldFor === "any" || how.write) held.add(path);
    }
  }
  return held;
}

/**
 * The index of the first of `paths` that no process holds open (as `filesHeldOpen` decides), or -1.
 * The usual case costs one lease test: the first file is free. Otherwise one /proc walk decides for
 * all of them, in order (a lease refused may not mean a writer: see filesHeldOpen). `lease` is
 * there for tests.
 */
export function firstNotHeldOpen(paths: readonly string[], heldFor: HeldFor, lease: LeaseCheck | null = leaseCheck): number {
  if (paths.length === 0 || process.platform !== "linux") return paths.length === 0 ? -1 : 0;
  if (lease && lease.heldOpen(paths[0]!, heldFor === "any") === 0) return 0;
  const held = walkProcForOpenFiles(paths);
  return paths.findIndex((path) => !(heldFor === "any" ? held.has(path) : held.get(path)?.write));
}

/**
 * Which of the given files some process has open, found by reading every /proc/<pid>/fd link.
 * Returns, per open path, whether it is open for writing. Exported for tests of the fallback.
 */
export function walkProcForOpenFiles(paths: Iterable<string>): Map<string, { write: boolean }> {
  const wanted = new Set(paths);
  const found = new Map<string, { write: boolean }>();
  if (wanted.size === 0 || process.platform !== "linux") return found;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => d.charCodeAt(0) >= 48 && d.charCodeAt(0) <= 57);
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!wanted.has(target)) continue;
      let write = false;
      try {
        const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "latin1");
        const m = /^flags:\s*([0-7]+)/m.exec(info);
        // O_WRONLY = 1, O_RDWR = 2
        if (m) write = (Number.parseInt(m[1]!, 8) & 3) !== 0;
      } catch {
        write = true; // cannot tell: assume the worst
      }
      const prev = found.get(target);
      found.set(target, { write: write || (prev?.write ?? false) });
    }
  }
  return found;
}
