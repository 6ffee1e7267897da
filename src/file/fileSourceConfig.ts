import type { ConfigSpec } from "../core/index.js";

/** The keys of every file source (FileABCSource and its subclasses), BSPump's names and defaults. */
export const FILE_SOURCE_CONFIG = {
  path: { type: "string", default: "", doc: "Glob pattern(s) of the files to read (`**` recursive); several separated by ':' or new lines" },
  mode: { type: "string", default: "r", choices: ["r", "rb", "rt"], doc: "'r': events are strings decoded with `encoding`; 'rb': Buffers" },
  encoding: { type: "encoding", default: "utf-8", doc: "Text encoding in 'r' mode" },
  newline: { type: "string", default: "\n", doc: "Accepted for compatibility; lines end at \\n (a preceding \\r is removed)" },
  post: { type: "string", default: "move", choices: ["move", "delete", "noop"], doc: "After a file is fully settled: move (rename to -processed), delete, or noop" },
  exclude: { type: "string", default: "", doc: "fnmatch pattern on the full path; matching files are skipped (wins over include)" },
  include: { type: "string", default: "", doc: "fnmatch pattern on the full path; when set, only matching files are read" },
  move_destination: { type: "string", default: "", doc: "Folder for post=move (created at start; must lie outside the glob); empty: rename in place" },
  lines_per_event: { type: "int", default: 10000, doc: "Accepted for compatibility (yielding is done by the pipeline's chillout)", min: 0 },
  event_idle_time: { type: "float", default: 0.01, doc: "Accepted for compatibility (yielding is done by the pipeline's chillout)", min: 0 },
  read_size: { type: "int", default: 1048576, doc: "Bytes per read (and per decompressed chunk)", min: 1, max: 1073741824 },
  read_ahead: { type: "int", default: 3, doc: "Reads of a plain file kept in flight while earlier chunks are processed", min: 1, max: 1024 },
  files_per_cycle: { type: "int", default: 1, doc: "Files read per trigger cycle (BSPump reads one); 0 = all that are there", min: 0 },
  follow_symlinks: { type: "bool", default: true, doc: "Read files that `path` reaches through a symbolic link (BSPump does; the target may lie outside the folder); false: skip them" },
  sync_io: { type: "bool", default: true, doc: "On a local filesystem (ext2/3/4, XFS, Btrfs, tmpfs, F2FS), a file smaller than `read_size` is locked, opened, read and post-processed with synchronous calls, a few µs each instead of a thread-pool round trip per call (many small files: ~3× faster); false: always asynchronous calls" },
  check_open: { type: "bool", default: true, doc: "Skip files a process has open for writing (Linux: a file lease test, or a walk of /proc), so a file being written is not read half-way" },
} satisfies ConfigSpec;
