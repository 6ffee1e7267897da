import { spawn } from "node:child_process";
import { read, readSync } from "node:fs";
import { promisify } from "node:util";
import type { FileHandle, FileReadResult } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import type { FileEntry } from "./FileEntry.js";

const readAsync = promisify(read);

/** Read buffers of small files are a multiple of this. */
const SMALL_READ = 65536;

/** A source's buffer for the one synchronous read of a small file, when its reader keeps nothing from a chunk. */
export interface ScratchBuffer {
  buffer: Buffer | null;
}

/**
 * A file's content as Buffers of about `readSize` bytes, decompressed by the name's suffix (`.gz`,
 * `.bz2`, `.xz`/`.lzma`). With `reuseBuffers`, plain files are read into a ring of buffers: only
 * for a caller that keeps nothing from a chunk past the next one.
 */
export function fileChunks(file: FileEntry, readSize: number, readAhead: number, reuseBuffers: boolean, scratch: ScratchBuffer | null = null): AsyncIterable<Buffer> {
  // Only a plain file is opened synchronously (FileABCSource never does so for compressed names).
  const handle = file.handle;
  if (handle === null) return syncChunks(file, readSize, reuseBuffers ? scratch : null);
  const name = file.path.toLowerCase();
  if (name.endsWith(".gz")) return gunzipChunks(file, handle, readSize);
  if (name.endsWith(".bz2")) return commandChunks(file, handle, readSize, "bzip2");
  if (name.endsWith(".xz") || name.endsWith(".lzma")) return commandChunks(file, handle, readSize, "xz");
  return plainChunks(file, handle, readSize, readAhead, reuseBuffers);
}

/**
 * A small file opened with synchronous calls (FileABCSource's `sync_io`), read whole in one
 * synchronous read of a buffer just bigger than the file (a short read shows its end): its bytes, or
 * null when it grew past that since the scan (then `fileChunks` reads it). With a scratch buffer
 * (the source reads one file at a time and the reader keeps nothing of it) no new buffer per small
 * file: their external memory made a good part of the GC's work.
 */
export function readSmallFile(file: FileEntry, readSize: number, scratch: ScratchBuffer | null): Buffer | null {
  const size = Math.min(readSize, Math.max(4096, file.stats.size + 1));
  if (scratch !== null && (scratch.buffer === null || scratch.buffer.length < size)) scratch.buffer = Buffer.allocUnsafe(Math.max(size, SMALL_READ));
  const buffer = scratch?.buffer ?? Buffer.allocUnsafe(size);
  const bytesRead = readSync(file.fd, buffer, 0, size, 0);
  if (bytesRead >= size) return null;
  file.position = bytesRead;
  return buffer.subarray(0, bytesRead);
}

/**
 * A small file opened with synchronous calls: whole in one read (`readSmallFile`); if it grew since
 * the scan, from its start in `readSize` asynchronous reads, so a big file never holds the event loop.
 */
async function* syncChunks(file: FileEntry, readSize: number, scratch: ScratchBuffer | null): AsyncGenerator<Buffer> {
  const whole = readSmallFile(file, readSize, scratch);
  if (whole !== null) {
    if (whole.length > 0) yield whole;
    return;
  }
  for (let position = 0, bytesRead; ; position += bytesRead) {
    const buffer = Buffer.allocUnsafe(readSize);
    ({ bytesRead } = await readAsync(file.fd, buffer, 0, readSize, position));
    if (bytesRead === 0) return;
    file.position = position + bytesRead;
    yield bytesRead === readSize ? buffer : buffer.subarray(0, bytesRead);
  }
}

async function* plainChunks(file: FileEntry, handle: FileHandle, readSize: number, readsAhead: number, reuseBuffers: boolean): AsyncGenerator<Buffer> {
  // A small file gets small buffers and no reads far beyond its end: 1 MiB buffers for each of
  // thousands of small files were most of the allocation. (If it grows, reading goes on with them.)
  const size = Math.min(readSize, Math.ceil((file.stats.size + 1) / SMALL_READ) * SMALL_READ);
  const ahead = Math.min(readsAhead, Math.ceil((file.stats.size + 1) / size));
  // Several reads in flight: one event-loop turn then collects every read that completed while
  // the previous chunks were processed, instead of one turn (and often a wait) per chunk.
  // With reuse, a ring of buffers: those in flight, the chunk being processed and the one before
  // it (its tail may still be carried). Without reuse, a fresh buffer per read: events and
  // parsers may keep views into a chunk.
  const ring = reuseBuffers ? Array.from({ length: ahead + 2 }, () => Buffer.allocUnsafe(size)) : null;
  let reads = 0;
  let position = 0;
  let inFlight: Promise<FileReadResult<Buffer>>[] = [];
  const readAhead = (): void => {
    while (inFlight.length < ahead) {
      const buffer = ring ? ring[reads++ % ring.length]! : Buffer.allocUnsafe(size);
      const read = handle.read(buffer, 0, size, position);
      // Its failure is thrown where it is awaited; until then it must not count as unhandled.
      read.catch(() => {});
      inFlight.push(read);
      position += size;
    }
  };
  try {
    readAhead();
    for (let first = true; ; first = false) {
      const { bytesRead, buffer } = await inFlight.shift()!;
      if (bytesRead === 0) return;
      file.position += bytesRead;
      if (bytesRead < size && first && inFlight.length === 0) {
        // The whole file in one read. A read at its end would be issued before this chunk is
        // processed, so it would catch no more than this one did: spare a thread-pool trip.
        yield buffer.subarray(0, bytesRead);
        return;
      }
      if (bytesRead < size) {
        // The end of the file, unless it grows: the reads beyond it are dropped (their ring
        // slots reused) and reading goes on exactly where this one stopped, so no byte is skipped.
        const dropped = inFlight.length;
        await Promise.allSettled(inFlight);
        inFlight = [];
        reads -= dropped;
        position -= size * (dropped + 1) - bytesRead;
      }
      readAhead();
      yield bytesRead === size ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    // Reads still in flight must finish before the handle is closed (and their buffers reused).
    await Promise.allSettled(inFlight);
  }
}

async function* gunzipChunks(file: FileEntry, handle: FileHandle, readSize: number): AsyncGenerator<Buffer> {
  const input = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: readSize });
  const gunzip = createGunzip({ chunkSize: Math.min(readSize, 1 << 20) });
  input.on("error", (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      file.position = input.bytesRead;
      yield chunk as Buffer;
    }
  } finally {
    input.unpipe(gunzip);
    input.destroy();
    gunzip.destroy();
  }
}

/** bzip2 and xz are decompressed by the system's `bzip2 -dc` / `xz -dc` (no pure-JS decoder is pinned). */
async function* commandChunks(file: FileEntry, handle: FileHandle, readSize: number, command: string): AsyncGenerator<Buffer> {
  const input = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: readSize });
  const child = spawn(command, ["-dc"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d.slice(0, 1000)));
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code));
  });
  exited.catch(() => {});
  child.stdin.on("error", () => {});
  input.pipe(child.stdin);
  let complete = false;
  try {
    for await (const chunk of child.stdout) {
      file.position = input.bytesRead;
      yield chunk as Buffer;
    }
    const code = await exited;
    if (code !== 0) throw new Error(`${command} -dc failed (exit ${code}): ${stderr.trim()}`);
    complete = true;
  } finally {
    input.unpipe(child.stdin);
    input.destroy();
    if (!complete) child.kill();
  }
}
