import type { EventContext, Receipt } from "../core/index.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";

/** Lines handed over between two readiness checks. */
const READY_EVERY = 256;

/** Bytes decoded into one string at a time. */
const DECODE_PIECE = 65536;

/**
 * One event per line (BSPump's FileLineSource), without the line terminator (`\n` or `\r\n`).
 * Mode 'r' (default) gives strings decoded with `encoding`; 'rb' gives Buffers (views into the read
 * buffer, no copy). Context: `{filename, line, receipt}`, lines numbered from 1.
 *
 * The hot loop reads large Buffers, finds line ends by byte search, decodes each chunk's complete
 * lines with one `toString` and slices them; readiness is checked once per 256 lines.
 */
export class FileLineSource extends FileABCSource {
  protected override async read(file: FileEntry): Promise<void> {
    if (this.mode === "rb") await this.readBytes(file);
    else await this.readText(file);
  }

  /** Hands one line over: override to change the event (FileMultiLineSource does). */
  protected emitLine(line: string | Buffer, lineNo: number, filename: string, receipt: Receipt): void {
    const context: EventContext = { filename, line: lineNo, receipt };
    this.pipeline.process(line, context);
  }

  /** Called after the last line of a file. */
  protected endOfFile(_file: FileEntry): void {}

  private async readText(file: FileEntry): Promise<void> {
    const encoding = this.encoding;
    const filename = file.path;
    const receipt = file.receipt;
    let carry: Buffer | null = null;
    let lineNo = 0;
    let untilReady = 0;
    // Text mode keeps nothing from a chunk past the next one (the carry is copied or used at once).
    for await (const chunk of this.chunks(file, true)) {
      let from = 0;
      if (carry !== null) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          continue;
        }
        const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
        carry = null;
        const end = joined.length > 0 && joined[joined.length - 1] === 13 ? joined.length - 1 : joined.length;
        if (--untilReady < 0) {
          untilReady = READY_EVERY;
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
        }
        this.emitLine(joined.toString(encoding, 0, end), ++lineNo, filename, receipt);
        from = nl + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last < from) {
        if (from < chunk.length) carry = chunk.subarray(from);
        continue;
      }
      if (last + 1 < chunk.length) carry = chunk.subarray(last + 1);
      // Decode in pieces of about 64 KiB cut at line ends: a 1 MiB string lives until a full GC,
      // and smaller pieces stay in cache. (A byte 0x0a is always a line end in the encodings
      // that cut is safe for; UTF-16 is decoded whole.)
      const pieceBytes = this.encoding === "utf16le" || this.encoding === "ucs2" ? Infinity : DECODE_PIECE;
      for (let pieceFrom = from; pieceFrom <= last; ) {
        let pieceTo = pieceFrom + pieceBytes >= last ? last : chunk.lastIndexOf(10, pieceFrom + pieceBytes);
        if (pieceTo < pieceFrom) pieceTo = last;
        const text = chunk.toString(encoding, pieceFrom, pieceTo);
        pieceFrom = pieceTo + 1;
        let start = 0;
        for (;;) {
          const nl = text.indexOf("\n", start);
          const stop = nl < 0 ? text.length : nl;
          const end = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
          if (--untilReady < 0) {
            untilReady = READY_EVERY;
            const go = this.whenReady();
            if (go !== true && !(await go)) return;
          }
          this.emitLine(text.slice(start, end), ++lineNo, filename, receipt);
          if (nl < 0) break;
          start = nl + 1;
        }
      }
    }
    if (carry !== null && carry.length > 0) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      const end = carry[carry.length - 1] === 13 ? carry.length - 1 : carry.length;
      this.emitLine(carry.toString(encoding, 0, end), ++lineNo, filename, receipt);
    }
    this.endOfFile(file);
  }

  private async readBytes(file: FileEntry): Promise<void> {
    const filename = file.path;
    const receipt = file.receipt;
    let carry: Buffer | null = null;
    let lineNo = 0;
    let untilReady = 0;
    for await (const chunk of this.chunks(file)) {
      let start = 0;
      if (carry !== null) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          continue;
        }
        const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
        carry = null;
        if (--untilReady < 0) {
          untilReady = READY_EVERY;
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
        }
        this.emitLine(stripCR(joined, 0, joined.length), ++lineNo, filename, receipt);
        start = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) {
          if (start < chunk.length) carry = chunk.subarray(start);
          break;
        }
        if (--untilReady < 0) {
          untilReady = READY_EVERY;
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
        }
        this.emitLine(stripCR(chunk, start, nl), ++lineNo, filename, receipt);
        start = nl + 1;
      }
    }
    if (carry !== null && carry.length > 0) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.emitLine(stripCR(carry, 0, carry.length), ++lineNo, filename, receipt);
    }
    this.endOfFile(file);
  }
}

function stripCR(buffer: Buffer, start: number, end: number): Buffer {
  return buffer.subarray(start, end > start && buffer[end - 1] === 13 ? end - 1 : end);
}
