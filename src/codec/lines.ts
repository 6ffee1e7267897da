import type { ConfigKey } from "../core/index.js";
import type { TextCodec } from "./text.js";

/**
 * Line framing, the one implementation behind the file, socket and HTTP line sources.
 *
 * The rules, the same everywhere:
 * - A line ends at "\n"; a "\r" before it is removed (unless `keepCR`: BSPump's socket sources keep it).
 * - Every line is handed over, empty ones included; bytes after the last "\n" are a last line when
 *   there are any (so "a\n" is one line and "a\nb" two). Parsers of structured lines (NDJSON, CSV)
 *   skip empty lines and count them.
 * - A line of more than `maxLength` bytes (not counting its "\n") is bad input: it is not handed
 *   over, the target's `lineTooLong` is called once with its number and first bytes, and framing
 *   goes on after its "\n". Memory stays bounded by `maxLength` plus one chunk, also on input with
 *   no "\n" at all, and readiness (so a stop) is checked on every chunk.
 */

/** What a LineFramer hands lines to (a source). `C` is what the caller passes along per stream: a file, a connection. */
export interface LineTarget<C> {
  /** The source's readiness (Source.whenReady): true, or a promise of false when stopping. */
  whenReady(): true | Promise<boolean>;
  /** One line, numbered from 1 per stream: a string (decoded) or a Buffer (a view: copy what you keep). */
  emitLine(line: string | Buffer, lineNo: number, context: C): void;
  /** A line over `maxLength` bytes, dropped: its number, its first bytes (a copy) and the bytes seen (more than `maxLength`). */
  lineTooLong(lineNo: number, head: Buffer, length: number, context: C): void;
}

export interface LineFramingOptions {
  /** Node encoding (one in which a 0x0a byte is always a line end) for string lines; null: Buffer lines. */
  encoding: BufferEncoding | null;
  /** Longest line in bytes, not counting its "\n". */
  maxLength: number;
  /** Keep a "\r" before the "\n" (BSPump's sockets do). Default false. */
  keepCR?: boolean;
  /**
   * Lines handed over between two readiness checks. Default 256 (files: the check is not free at
   * 15 M lines/s); 1 stops at the very next line when the pipeline stops or fails (sockets).
   */
  readyEvery?: number;
}

/** Lines handed over between two readiness checks, by default. */
const READY_EVERY = 256;

/** Bytes decoded into one string at a time. */
const DECODE_PIECE = 65536;

/** Bytes of an over-long line kept for its bad-input report. */
const HEAD_BYTES = 1024;

/**
 * Splits a stream of Buffers into lines and hands them to a target (see the rules above). One
 * framer serves one stream at a time (`frame` resets its state); keep one per source, or per
 * connection.
 *
 * Tuned for files (~15 M lines/s): large chunks are decoded in pieces of about 64 KiB cut at line
 * ends, and lines are slices of those strings (text) or views of the chunk (bytes); readiness is
 * checked once per 256 lines (`readyEvery`). With `reusedChunks`, the chunks may come from a ring of reused
 * buffers (a carried line is copied before the next chunk could overwrite it).
 */
export class LineFramer<C> {
  /** Number of the last line handed over (or dropped as too long) in the current stream. */
  linesEmitted = 0;
  private readonly target: LineTarget<C>;
  private readonly encoding: BufferEncoding | null;
  private readonly maxLength: number;
  /** The byte a line's end is trimmed of: "\r", or -1 (never matches) to keep it. */
  private readonly cr: number;
  private readonly readyEvery: number;

  constructor(target: LineTarget<C>, options: LineFramingOptions) {
    this.target = target;
    this.encoding = options.encoding;
    this.maxLength = Math.max(1, options.maxLength);
    this.cr = options.keepCR ? -1 : 13;
    this.readyEvery = Math.max(1, options.readyEvery ?? READY_EVERY);
  }

  /** Frames `chunks` into lines for `context`; false when the target stopped (whenReady said false). */
  async frame(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, context: C): Promise<boolean> {
    const maxLength = this.maxLength;
    /** The start of a line that goes on in the next chunk (a view), and its further pieces (copies). */
    let carry: Buffer | null = null;
    let more: Buffer[] | null = null;
    let carried = 0;
    /** The current line was too long: its bytes are dropped up to its "\n". */
    let skipping = false;
    this.linesEmitted = 0;
    for await (const chunk of chunks) {
      let from = 0;
      if (carry !== null || skipping) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          if (!skipping) {
            carried += chunk.length;
            if (carried > maxLength) {
              this.tooLong([...(more ?? [carry!]), chunk], carried, context);
              carry = more = null;
              skipping = true;
            } else {
              // Copies: a reused read buffer is overwritten soon. Joined once, at the line's end (linear).
              more ??= [Buffer.from(carry!)];
              more.push(Buffer.from(chunk));
            }
          }
          // The only place no line is handed over for a whole chunk: check for a stop here.
          const go = this.target.whenReady();
          if (go !== true && !(await go)) return false;
          continue;
        }
        const go = this.target.whenReady();
        if (go !== true && !(await go)) return false;
        if (skipping) skipping = false;
        else if (carried + nl > maxLength) this.tooLong([...(more ?? [carry!]), chunk.subarray(0, nl)], carried + nl, context);
        else {
          const head = chunk.subarray(0, nl);
          this.emitWhole(more === null ? Buffer.concat([carry!, head]) : Buffer.concat([...more, head]), context);
        }
        carry = more = null;
        from = nl + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last >= from) {
        let handedOver = last - from > maxLength ? this.handOverChecked(chunk, from, last, context) : this.handOver(chunk, from, last, context);
        if (handedOver !== true && handedOver !== false) handedOver = await handedOver;
        if (!handedOver) return false;
        from = last + 1;
      }
      if (from < chunk.length) {
        carry = chunk.subarray(from);
        carried = carry.length;
        if (carried > maxLength) {
          this.tooLong([carry], carried, context);
          carry = null;
          skipping = true;
        }
      }
    }
    if (carry !== null && carry.length > 0) {
      const go = this.target.whenReady();
      if (go !== true && !(await go)) return false;
      this.emitWhole(more === null ? carry : Buffer.concat(more), context);
    }
    return true;
  }

  /**
   * Frames a whole stream held in one Buffer (a small file read at once), as `frame([chunk])` does,
   * but synchronously for as long as the target is ready: a promise only when it has to wait.
   */
  frameWhole(chunk: Buffer, context: C): boolean | Promise<boolean> {
    this.linesEmitted = 0;
    const last = chunk.lastIndexOf(10);
    if (last < 0) return this.lastLine(chunk, 0, context);
    const handedOver = last > this.maxLength ? this.handOverChecked(chunk, 0, last, context) : this.handOver(chunk, 0, last, context);
    if (handedOver === true) return this.lastLine(chunk, last + 1, context);
    if (handedOver === false) return false;
    return handedOver.then((ok) => ok && this.lastLine(chunk, last + 1, context));
  }

  /** The bytes of a whole stream after its last "\n" (from `from`), as its last line. */
  private lastLine(chunk: Buffer, from: number, context: C): boolean | Promise<boolean> {
    const length = chunk.length - from;
    if (length <= 0) return true;
    if (length > this.maxLength) {
      this.tooLong([chunk.subarray(from)], length, context);
      return true;
    }
    const go = this.target.whenReady();
    if (go !== true) return go.then((ok) => ok && this.lastLine(chunk, from, context));
    this.emitWhole(chunk.subarray(from), context);
    return true;
  }

  private handOver(chunk: Buffer, from: number, last: number, context: C): boolean | Promise<boolean> {
    return this.encoding !== null ? this.handOverText(chunk, from, last, this.encoding, context) : this.handOverBytes(chunk, from, last, context);
  }

  /**
   * The complete lines in `chunk[from, last]` when some may be too long (the span is longer than
   * `maxLength`): the runs of lines that fit are handed over as usual, the others reported.
   */
  private handOverChecked(chunk: Buffer, from: number, last: number, context: C): boolean | Promise<boolean> {
    let run = from;
    for (let at = from; at <= last; ) {
      const nl = chunk.indexOf(10, at);
      if (nl - at > this.maxLength) {
        const handedOver = run < at ? this.handOver(chunk, run, at - 1, context) : true;
        if (handedOver === false) return false;
        if (handedOver !== true) return handedOver.then((ok) => ok && this.resumeChecked(chunk, at, nl, last, context));
        this.tooLong([chunk.subarray(at, nl)], nl - at, context);
        run = nl + 1;
      }
      at = nl + 1;
    }
    return run > last || this.handOver(chunk, run, last, context);
  }

  /** handOverChecked after a wait: the too-long line `chunk[at, nl)`, then the lines after it. */
  private resumeChecked(chunk: Buffer, at: number, nl: number, last: number, context: C): boolean | Promise<boolean> {
    this.tooLong([chunk.subarray(at, nl)], nl - at, context);
    return nl + 1 > last || this.handOverChecked(chunk, nl + 1, last, context);
  }

  /** Reports the line made of `parts` (its first HEAD_BYTES copied) as too long. */
  private tooLong(parts: Buffer[], length: number, context: C): void {
    const head: Buffer[] = [];
    let size = 0;
    for (let i = 0; i < parts.length && size < HEAD_BYTES; i++) {
      const part = parts[i]!.subarray(0, HEAD_BYTES - size);
      head.push(part);
      size += part.length;
    }
    this.target.lineTooLong(++this.linesEmitted, Buffer.concat(head, size), length, context);
  }

  /** One line held in its own Buffer (it spanned two reads, or ends the stream without "\n"). */
  private emitWhole(line: Buffer, context: C): void {
    const end = line.length > 0 && line[line.length - 1] === this.cr ? line.length - 1 : line.length;
    this.target.emitLine(this.encoding === null ? line.subarray(0, end) : line.toString(this.encoding, 0, end), ++this.linesEmitted, context);
  }

  /**
   * Text mode: the complete lines in `chunk[from, last)` (`last` is a "\n"), decoded in pieces of about
   * 64 KiB cut at line ends: a 1 MiB string lives until a full GC, and smaller pieces stay in cache.
   * (A byte 0x0a is always a line end in the encodings that cut is safe for; UTF-16 is decoded whole.)
   * Synchronous while the target is ready; `text` and `at` resume a piece after a wait. False when
   * the source is stopping.
   */
  private handOverText(chunk: Buffer, from: number, last: number, encoding: BufferEncoding, context: C, text: string | null = null, at = 0): boolean | Promise<boolean> {
    const pieceBytes = encoding === "utf16le" || encoding === "ucs2" ? Infinity : DECODE_PIECE;
    for (;;) {
      if (text === null) {
        if (from > last) return true;
        let pieceTo = from + pieceBytes >= last ? last : chunk.lastIndexOf(10, from + pieceBytes);
        if (pieceTo < from) pieceTo = last;
        text = chunk.toString(encoding, from, pieceTo);
        from = pieceTo + 1;
        at = 0;
      }
      while (at >= 0) {
        const go = this.target.whenReady();
        if (go !== true) return this.resumeText(go, chunk, from, last, encoding, context, text, at);
        at = this.emitLines(text, at, context);
      }
      text = null;
    }
  }

  private async resumeText(go: Promise<boolean>, chunk: Buffer, from: number, last: number, encoding: BufferEncoding, context: C, text: string, at: number): Promise<boolean> {
    return (await go) && this.handOverText(chunk, from, last, encoding, context, text, at);
  }

  /** Bytes mode: the complete lines in `chunk[from, last]`, as views. False when the source is stopping. */
  private handOverBytes(chunk: Buffer, from: number, last: number, context: C): boolean | Promise<boolean> {
    for (let at = from; at <= last; ) {
      const go = this.target.whenReady();
      if (go !== true) return this.resumeBytes(go, chunk, at, last, context);
      at = this.emitByteLines(chunk, at, last, context);
    }
    return true;
  }

  private async resumeBytes(go: Promise<boolean>, chunk: Buffer, at: number, last: number, context: C): Promise<boolean> {
    return (await go) && this.handOverBytes(chunk, at, last, context);
  }

  /**
   * Hands over up to `readyEvery` lines of `text` from `start` (complete lines, the last one without
   * its "\n"); returns where to go on, or -1 when the text is done. Line numbers continue from
   * `linesEmitted`. A small synchronous loop apart from the async reader, so V8 optimizes it well
   * (measured: W3 about a quarter faster than with the same loop inline in the async reader).
   */
  private emitLines(text: string, start: number, context: C): number {
    const target = this.target;
    const cr = this.cr;
    let lineNo = this.linesEmitted;
    const stopAt = lineNo + this.readyEvery;
    try {
      for (;;) {
        const nl = text.indexOf("\n", start);
        const stop = nl < 0 ? text.length : nl;
        const end = stop > start && text.charCodeAt(stop - 1) === cr ? stop - 1 : stop;
        target.emitLine(text.slice(start, end), ++lineNo, context);
        if (nl < 0) return -1;
        start = nl + 1;
        if (lineNo === stopAt) return start;
      }
    } finally {
      this.linesEmitted = lineNo;
    }
  }

  /**
   * Hands over up to `readyEvery` of the lines in `chunk[start, last]` (`last` is a "\n"), as views
   * (no copy); returns where to go on (past `last` when done).
   */
  private emitByteLines(chunk: Buffer, start: number, last: number, context: C): number {
    const target = this.target;
    const cr = this.cr;
    let lineNo = this.linesEmitted;
    const stopAt = lineNo + this.readyEvery;
    try {
      while (start <= last) {
        const nl = chunk.indexOf(10, start);
        target.emitLine(chunk.subarray(start, nl > start && chunk[nl - 1] === cr ? nl - 1 : nl), ++lineNo, context);
        start = nl + 1;
        if (lineNo === stopAt) break;
      }
      return start;
    } finally {
      this.linesEmitted = lineNo;
    }
  }
}

/**
 * The one declaration of the line-length key (`max_line_length`) for every line source; the default
 * differs by transport: a socket server holds one line per client, a file source one in all.
 */
export function maxLineLengthKey(defaultBytes: number): ConfigKey & { readonly type: "int" } {
  return { type: "int", default: defaultBytes, doc: "Longest line in bytes (its \\n not counted); a longer line is bad input (a warning, the dead-letter target), dropped up to its end", min: 1, max: 1073741824 };
}

/**
 * The framer's `encoding` for lines in `codec`: its Node name when lines can be cut on bytes and
 * decoded by Node (text mode), else null (bytes mode: decode each line with `codec.decode`).
 */
export function framingEncoding(codec: TextCodec | null): BufferEncoding | null {
  return codec !== null && codec.node !== null && codec.lineSafe ? codec.node : null;
}

/** The lines of a whole body (bounded by its size) under the same rules, decoded with `codec`. */
export async function splitLines(body: Buffer, codec: TextCodec): Promise<string[]> {
  const lines: string[] = [];
  const target: LineTarget<null> = {
    whenReady: () => true,
    emitLine: (line) => void lines.push(typeof line === "string" ? line : codec.decode(line)),
    lineTooLong: () => {},
  };
  const framed = new LineFramer(target, { encoding: framingEncoding(codec), maxLength: body.length + 1 }).frameWhole(body, null);
  if (framed !== true) await framed;
  return lines;
}
