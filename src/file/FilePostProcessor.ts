import { closeSync, renameSync, unlinkSync } from "node:fs";
import { rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { toError, type Logger } from "../core/index.js";
import type { FileEntry } from "./FileEntry.js";
import { compactStats, sameContent, type FileStats } from "./scan.js";

export type PostAction = "move" | "delete" | "noop";

/** What post-processing does with a settled file: its new name (null: deleted), whether it counts as processed, whether post=noop remembers it. */
interface PostStep {
  readonly to: string | null;
  readonly processed: boolean;
  readonly remember: boolean;
}

/**
 * What a file source does with its files once their events are settled (`post`: move, delete or
 * noop; a failed read makes `-failed`, undelivered events give the file its name back), in the order
 * they settled; and, with post=noop, which files were read already. A file read with synchronous
 * calls is post-processed with them, at once, unless files settled before it still wait for theirs.
 */
export class FilePostProcessor {
  /** Files post-processed as `post` says, failed to read, and given back to be read again. */
  filesDone = 0;
  filesFailed = 0;
  filesRetried = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Files whose post-processing waits in `chain`. */
  private queued = 0;
  /** With post=noop: files already read (path → identity), so they are not read again and again. */
  private readonly done = new Map<string, FileStats>();
  /**
   * With post=noop: the files of `done` read in the current trigger cycle. The scans that look for
   * files arrived during a cycle skip them without a stat(): one stat per file already read made each
   * such scan of a big folder cost as much as the first. A change to one of them is seen by the
   * first scan of the next cycle.
   */
  private readonly doneThisCycle = new Set<string>();

  constructor(
    private readonly post: PostAction,
    private readonly moveDestination: string,
    private readonly log: Logger,
    private readonly onProcessed: (file: FileEntry) => void,
  ) {}

  /** Post-processes a file whose events are all settled (`error`: the first failure, or null). */
  settled(file: FileEntry, error: Error | null): void {
    if (file.handle === null && this.queued === 0) {
      try {
        this.postProcess(file, error);
      } catch (e) {
        this.failed(file, e);
      }
      return;
    }
    this.queued++;
    this.chain = this.chain
      .then(() => this.postProcess(file, error))
      .then(
        () => void this.queued--,
        (e: unknown) => {
          this.queued--;
          this.failed(file, e);
        },
      );
  }

  /** Resolves when the post-processing of every settled file has run. */
  async whenDone(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
  }

  /** A file not fully delivered when the source stopped: closed and given its name back, to be read again. */
  async giveBack(file: FileEntry): Promise<void> {
    this.filesRetried++;
    await closeFile(file);
    await rename(file.locked, file.path).catch((e: unknown) => this.log.error(`Cannot unlock '${file.locked}': ${toError(e).message}`));
    this.log.warn(`'${file.path}' was not fully delivered before stop; it will be read again`);
  }

  /** With post=noop: whether the file was read already and has not changed since (its inode, size and mtime). */
  readUnchanged(path: string, st: FileStats): boolean {
    return this.done.size > 0 && sameContent(this.done.get(path), st);
  }

  /** With post=noop: whether the file was read in the current trigger cycle (see `doneThisCycle`). */
  readThisCycle(path: string): boolean {
    return this.doneThisCycle.size > 0 && this.doneThisCycle.has(path);
  }

  newCycle(): void {
    this.doneThisCycle.clear();
  }

  private failed(file: FileEntry, e: unknown): void {
    this.log.error(`Post-processing of '${file.path}' failed: ${toError(e).message}`);
  }

  /** Closes a settled file and renames or deletes it; synchronously when it was read so (a failure throws here as the asynchronous call rejects). */
  private postProcess(file: FileEntry, error: Error | null): void | Promise<void> {
    if (file.handle !== null) return this.postProcessAsync(file, file.handle, error);
    closeFile(file);
    const step = this.step(file, error);
    if (step.to === null) unlinkSync(file.locked);
    else renameSync(file.locked, step.to);
    this.postProcessed(file, step);
  }

  private async postProcessAsync(file: FileEntry, handle: FileHandle, error: Error | null): Promise<void> {
    await handle.close().catch(() => {});
    const step = this.step(file, error);
    await (step.to === null ? unlink(file.locked) : rename(file.locked, step.to));
    this.postProcessed(file, step);
  }

  /** What becomes of a settled file (and the counts of it): failed, given back to be read again, or processed as `post` says. */
  private step(file: FileEntry, error: Error | null): PostStep {
    if (file.readError !== null) {
      this.filesFailed++;
      return this.post === "noop" ? { to: file.path, processed: false, remember: true } : { to: file.path + "-failed", processed: false, remember: false };
    }
    if (error !== null || file.incomplete) {
      // Not done: give the file its name back, so it is read again.
      this.filesRetried++;
      if (error) this.log.warn(`Events of '${file.path}' were not delivered (${error.message}); the file will be read again`);
      return { to: file.path, processed: false, remember: false };
    }
    this.filesDone++;
    switch (this.post) {
      case "delete":
        return { to: null, processed: true, remember: false };
      case "noop":
        return { to: file.path, processed: true, remember: true };
      case "move":
        return { to: this.moveDestination ? join(this.moveDestination, basename(file.path) + "-processed") : file.path + "-processed", processed: true, remember: false };
    }
  }

  private postProcessed(file: FileEntry, step: PostStep): void {
    // With post=noop the file keeps its name: remembered, so it is not read again until it changes.
    if (step.remember) {
      this.done.set(file.path, compactStats(file.stats));
      this.doneThisCycle.add(file.path);
    }
    if (step.processed) this.onProcessed(file);
  }
}

/** Closes the file, however it was opened; a failure to close is no reason to keep it locked. */
function closeFile(file: FileEntry): Promise<void> | void {
  if (file.handle !== null) return file.handle.close().catch(() => {});
  try {
    closeSync(file.fd);
  } catch {
    // already closed: nothing held
  }
}
