import { readdirSync, readFileSync, readlinkSync, statfsSync } from "node:fs";
import { createRequire } from "node:module";

/** What to look for: any process holding the file open for writing, or holding it open at all. */
export type HeldFor = "write" | "any";

/** The native module's answer for one file: 1 held open, 0 not, -errno it cannot tell. */
export interface LeaseCheck {
  heldOpen(path: string, anyOpen: boolean): number;
}

/** How the files are asked about; the defaults are the native lease and statfs (tests pass others). */
export interface OpenFileChecks {
  lease: LeaseCheck | null;
  /** Whether a refused lease on this file means some process has it open (a local filesystem). */
  refusalMeansOpen(path: string): boolean;
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

/**
 * Local filesystems whose leases are the kernel's own (a refusal means a conflicting open), by
 * statfs type: ext2/3/4, XFS, Btrfs, tmpfs, F2FS. Network filesystems (NFS, SMB) refuse a lease
 * whenever the client holds no delegation, FUSE and overlay answer as their backends do: there a
 * refusal is checked by the /proc walk.
 */
const LEASES_MEAN_OPENS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010]);

export function refusalMeansOpen(path: string): boolean {
  return isLocalFilesystem(path);
}

/**
 * Whether `path` (a file or folder) lies on one of those local filesystems. There a rename, open or
 * read of a small file takes microseconds, less than a thread-pool round trip; the file sources
 * then use synchronous calls (`sync_io`). False when it cannot tell.
 */
export function isLocalFilesystem(path: string): boolean {
  try {
    return LEASES_MEAN_OPENS.has(statfsSync(path).type);
  } catch {
    return false;
  }
}

const DEFAULT_CHECKS: OpenFileChecks = { lease: leaseCheck, refusalMeansOpen };

/** How `filesHeldOpen` finds out: "lease" (one kernel call per file) or "proc" (a walk of /proc). */
export function openCheckMethod(): "lease" | "proc" | "none" {
  if (process.platform !== "linux") return "none";
  return leaseCheck ? "lease" : "proc";
}

/** What the lease says of one file; "unsure" leaves it to the /proc walk. */
function leaseVerdict(path: string, heldFor: HeldFor, checks: OpenFileChecks): "free" | "held" | "unsure" {
  if (!checks.lease) return "unsure";
  const answer = checks.lease.heldOpen(path, heldFor === "any");
  if (answer === 0) return "free";
  return answer === 1 && checks.refusalMeansOpen(path) ? "held" : "unsure";
}

/**
 * Which of the given files some process holds open — for writing, or at all with `heldFor = "any"`
 * (BSPump's `_is_file_open()` was a stub). Paths must be absolute. Asks the kernel with a file
 * lease (see openlease.c): granted means no such open, for certain; refused means one on a local
 * filesystem (see LEASES_MEAN_OPENS). Elsewhere — NFS, SMB, FUSE, overlay, a file not ours — and for
 * every file when the native check is not built, the /proc walk decides. Where /proc is not
 * available (not Linux), reports nothing open.
 */
export function filesHeldOpen(paths: readonly string[], heldFor: HeldFor, checks: OpenFileChecks = DEFAULT_CHECKS): Set<string> {
  const held = new Set<string>();
  if (paths.length === 0 || process.platform !== "linux") return held;
  const unsure: string[] = [];
  for (const path of paths) {
    const verdict = leaseVerdict(path, heldFor, checks);
    if (verdict === "held") held.add(path);
    else if (verdict === "unsure") unsure.push(path);
  }
  if (unsure.length > 0) for (const path of heldByWalk(unsure, heldFor)) held.add(path);
  return held;
}

/**
 * The index of the first of `paths[from..]` that no process holds open (as `filesHeldOpen`
 * decides), or -1. Asks the lease about one file at a time and stops at the first free one, so a
 * scan that finds thousands of files does not test them all for each file it takes; from the first
 * file the lease cannot decide on, one /proc walk decides for the rest, keeping the order.
 */
export function firstNotHeldOpen(paths: readonly string[], heldFor: HeldFor, from = 0, checks: OpenFileChecks = DEFAULT_CHECKS): number {
  if (process.platform !== "linux") return from < paths.length ? from : -1;
  for (let i = from; i < paths.length; i++) {
    const verdict = leaseVerdict(paths[i]!, heldFor, checks);
    if (verdict === "free") return i;
    if (verdict === "unsure") {
      const rest = paths.slice(i);
      const held = heldByWalk(rest, heldFor);
      const free = rest.findIndex((path) => !held.has(path));
      return free < 0 ? -1 : i + free;
    }
  }
  return -1;
}

/** The given files the /proc walk finds held open (for writing, or at all with "any"). */
function heldByWalk(paths: readonly string[], heldFor: HeldFor): Set<string> {
  const held = new Set<string>();
  for (const [path, how] of walkProcForOpenFiles(paths)) if (heldFor === "any" || how.write) held.add(path);
  return held;
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
