import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Which of the given files some process has open, found through Linux's /proc (BSPump's
 * `_is_file_open()` was a stub). Returns, per open path, whether it is open for writing.
 * Where /proc is not available (not Linux), reports nothing open.
 */
export function openFiles(paths: Iterable<string>): Map<string, { write: boolean }> {
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
