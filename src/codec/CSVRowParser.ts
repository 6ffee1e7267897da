// Over ~400 lines: one state machine whose fast path (a line without quotes, split at the
// delimiter) and slow path share the work buffer and the row's fields; split, the hot path of W2
// would read them through another object.
import { csvDecoding, dialectCodes, type CSVRowParserOptions, type Decode } from "./csvdialect.js";
import type { TextStream } from "./text.js";

/** Called for each row: `fields[0..count)` are its values (the array is reused: copy what you keep); `line` is the row's last line (1-based). */
export type CSVRowCallback = (fields: string[], count: number, line: number) => void;
/** Called for a row that cannot be parsed: the error, the line it names (1-based) and the row's raw text. The parser goes on with the next rows. */
export type CSVErrorCallback = (error: Error, line: number, raw: string) => void;

const LF = 10;
const CR = 13;
const SPACE = 32;

// State machine states (Python's _csv.c names).
const START_FIELD = 0;
const IN_FIELD = 1;
const ESCAPED_CHAR = 2;
const IN_QUOTED_FIELD = 3;
const ESCAPE_IN_QUOTED_FIELD = 4;
const QUOTE_IN_QUOTED_FIELD = 5;

const BOM0 = 0xef;
const BOM1 = 0xbb;
const BOM2 = 0xbf;

/**
 * A streaming CSV reader on bytes, with Python csv's reader semantics: feed it Buffers as they are
 * read (`push`), then `end()`; it calls `onRow` for each row, synchronously. Rows end at "\n" or
 * "\r\n" (a lone "\r" is data); empty lines are skipped; a UTF-8 byte-order mark at the start is
 * dropped. Quoted fields may hold delimiters, quotes (doubled, or escaped with `escapechar`) and
 * line ends. The escape character, when set, escapes the next character inside and outside quotes.
 *
 * A line without a quote or escape character (the common case) is decoded as one string and split
 * at the delimiter; other rows go through the full state machine, which may span chunks. Nothing
 * is kept from the pushed Buffers (the caller may reuse them) and no string larger than a row is made.
 *
 * Bad input calls `onError` and the parser goes on: an unterminated quoted field (at the end of the
 * data, or longer than `fieldSizeLimit`) drops the row's first line and parsing resumes on the next
 * one; with `strict`, a character after a closing quote drops the rest of that line.
 */
export class CSVRowParser {
  /** Lines consumed so far. */
  line = 0;
  private readonly delimiter: number;
  private readonly delimiterChar: string;
  private readonly quote: number;
  private readonly escape: number;
  private readonly doublequote: boolean;
  private readonly skipinitialspace: boolean;
  private readonly strict: boolean;
  private readonly fieldSizeLimit: number;
  private readonly maxRowLength: number;
  /** A row went over maxRowLength: its bytes are dropped up to the next line end. */
  private skipping = false;
  private readonly decode: Decode;
  private readonly utf8: boolean;
  private readonly transcoder: TextStream | null;
  private readonly onRow: CSVRowCallback;
  private readonly onError: CSVErrorCallback;

  /** Unparsed bytes: work[0..filled). */
  private work: Buffer = Buffer.alloc(0);
  private filled = 0;
  private started = false;
  private readonly fields: string[] = [];
  private count = 0;
  private scratch: Buffer = Buffer.allocUnsafe(256);
  private scratchLen = 0;
  /** Lines consumed by the row the slow path just parsed. */
  private rowLines = 0;
  /** `pause()` was called: no more rows until `resume()`. */
  private paused = false;
  /** `end()` was called: the rows left are parsed as the end of the data. */
  private ending = false;

  constructor(options: CSVRowParserOptions, onRow: CSVRowCallback, onError: CSVErrorCallback) {
    const codes = dialectCodes(options);
    this.delimiterChar = options.delimiter ?? ",";
    this.delimiter = codes.delimiter;
    this.quote = codes.quote;
    this.escape = codes.escape;
    this.doublequote = options.doublequote ?? true;
    this.skipinitialspace = options.skipinitialspace ?? false;
    this.strict = options.strict ?? false;
    this.fieldSizeLimit = options.fieldSizeLimit ?? 131072;
    this.maxRowLength = options.maxRowLength ?? 16 * 1048576;
    ({ decode: this.decode, utf8: this.utf8, transcoder: this.transcoder } = csvDecoding(options.encoding ?? "utf8"));
    this.onRow = onRow;
    this.onError = onError;
  }

  /**
   * Parses what `chunk` completes; keeps the rest (copied) for the next push. False when `onRow`
   * paused the parser: call `resume()` (until it returns true) before the next push.
   */
  push(chunk: Buffer): boolean {
    if (this.transcoder !== null) chunk = Buffer.from(this.transcoder.write(chunk), "utf8");
    if (this.skipping) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) return true;
      this.skipping = false;
      chunk = chunk.subarray(nl + 1);
    }
    this.append(chunk);
    this.run(false);
    return !this.paused;
  }

  /** The end of the data: parses the last row (it needs no line end). False when paused, as `push`. */
  end(): boolean {
    if (this.transcoder !== null) this.append(Buffer.from(this.transcoder.end(), "utf8"));
    this.ending = true;
    if (!this.skipping) this.run(true);
    return this.finish();
  }

  /**
   * Called from `onRow`: no more rows after this one until `resume()` — a source whose pipeline
   * stopped being ready (an error, a throttle) stops within a row, not after a whole chunk.
   */
  pause(): void {
    this.paused = true;
  }

  /** Goes on parsing what was pushed (and ended) before the pause; false when paused again. */
  resume(): boolean {
    this.paused = false;
    this.run(this.ending);
    return this.finish();
  }

  private finish(): boolean {
    if (this.paused) return false;
    if (this.ending) this.filled = 0;
    return true;
  }

  /** Starts over (a new stream): line numbers from 1, a byte-order mark dropped again. */
  reset(): void {
    this.line = 0;
    this.filled = 0;
    this.started = false;
    this.skipping = false;
    this.paused = this.ending = false;
  }

  /** Parses `data` as a whole (push, then end) after a reset: for one-shot input (a block, a line, a lookup file). */
  parse(data: Buffer): void {
    this.reset();
    this.push(data);
    this.end();
  }

  private append(chunk: Buffer): void {
    const need = this.filled + chunk.length;
    if (need > this.work.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.work.length * 2, 65536));
      this.work.copy(grown, 0, 0, this.filled);
      this.work = grown;
    }
    chunk.copy(this.work, this.filled);
    this.filled = need;
  }

  private run(final: boolean): void {
    const buf = this.work;
    const end = this.filled;
    let pos = 0;
    if (!this.started) {
      if (end < 3 && !final) return;
      this.started = true;
      if (this.utf8 && end >= 3 && buf[0] === BOM0 && buf[1] === BOM1 && buf[2] === BOM2) pos = 3;
    }
    const quote = this.quote;
    const escape = this.escape;
    const fields = this.fields;
    const decode = this.decode;
    const delimiter = this.delimiterChar;
    const skipSpace = this.skipinitialspace;
    // Next quote / escape byte at or after pos (-1: none before `end`); searched lazily.
    let nextQuote = quote === -1 ? end : -1;
    let nextEscape = escape === -1 ? end : -1;
    try {
      while (pos < end) {
        let nl = buf.indexOf(LF, pos);
        if (nl >= end) nl = -1;
        if (nl === -1 && !final) {
          if (end - pos > this.maxRowLength) {
            this.tooLong(pos, end);
            pos = end;
          }
          break;
        }
        const lineEnd = nl === -1 ? end : nl;
        let e = lineEnd;
        if (e > pos && buf[e - 1] === CR) e--;
        if (e === pos) {
          // Empty line: skipped.
          this.line++;
          pos = lineEnd + 1;
          continue;
        }
        if (nextQuote < pos) {
          nextQuote = buf.indexOf(quote, pos);
          if (nextQuote === -1 || nextQuote > end) nextQuote = end;
        }
        if (nextEscape < pos) {
          nextEscape = buf.indexOf(escape, pos);
          if (nextEscape === -1 || nextEscape > end) nextEscape = end;
        }
        if (nextQuote >= e && nextEscape >= e) {
          // Fast path: no quoting on this line. One string, split at the delimiter.
          const text = decode.call(buf, pos, e);
          let n = 0;
          let s = 0;
          let c: number;
          while ((c = text.indexOf(delimiter, s)) !== -1) {
            fields[n++] = skipSpace ? trimStart(text, s, c) : text.slice(s, c);
            s = c + 1;
          }
          fields[n++] = skipSpace ? trimStart(text, s, text.length) : s === 0 ? text : text.slice(s);
          this.line++;
          pos = lineEnd + 1;
          this.onRow(fields, n, this.line);
          if (this.paused) break;
          continue;
        }
        const next = this.slowRow(pos, end, final);
        if (next === -1) break; // the row is not complete yet
        pos = next;
        if (this.count >= 0) {
          this.line += this.rowLines;
          this.onRow(fields, this.count, this.line);
          if (this.paused) break;
        }
      }
    } finally {
      // Keep the incomplete rest for the next push (also when a callback threw: the rows handed
      // over so far are consumed).
      if (pos > 0) {
        if (pos < end) buf.copy(buf, 0, pos, end);
        this.filled = Math.max(0, end - pos);
      }
    }
  }

  /**
   * Parses one row starting at `start` with the full state machine. Returns the position after
   * it (with `count` fields and `rowLines` lines), or -1 when the data ends before the row does.
   * On bad input it reports the row and returns where parsing resumes (`count` = -1).
   */
  private slowRow(start: number, end: number, final: boolean): number {
    const buf = this.work;
    const quote = this.quote;
    const escape = this.escape;
    const delimiter = this.delimiter;
    const doublequote = this.doublequote;
    this.count = 0;
    this.scratchLen = 0;
    let lines = 0;
    let state = START_FIELD;
    let fieldStart = start;
    let pos = start;
    // Next quote / escape byte at or after pos, for runs inside quoted fields (searched lazily).
    let nextQuote = -1;
    let nextEscape = -1;
    while (pos < end) {
      const c = buf[pos]!;
      switch (state) {
        case START_FIELD:
          fieldStart = pos;
          if (c === LF || (c === CR && pos + 1 < end && buf[pos + 1] === LF)) {
            this.saveField();
            return this.endRow(pos, lines);
          }
          if (c === CR && pos + 1 >= end && !final) return -1;
          if (c === quote) state = IN_QUOTED_FIELD;
          else if (c === escape) state = ESCAPED_CHAR;
          else if (c === SPACE && this.skipinitialspace) {
            // ignored at the start of a field
          } else if (c === delimiter) this.saveField();
          else {
            this.addByte(c);
            state = IN_FIELD;
          }
          break;
        case ESCAPED_CHAR:
          if (c === LF) lines++;
          this.addByte(c);
          state = IN_FIELD;
          break;
        case IN_FIELD:
          if (c === LF || (c === CR && pos + 1 < end && buf[pos + 1] === LF)) {
            this.saveField();
            return this.endRow(pos, lines);
          }
          if (c === CR && pos + 1 >= end && !final) return -1;
          if (c === escape) state = ESCAPED_CHAR;
          else if (c === delimiter) {
            this.saveField();
            state = START_FIELD;
          } else this.addByte(c);
          break;
        case IN_QUOTED_FIELD:
          if (c === escape) state = ESCAPE_IN_QUOTED_FIELD;
          else if (c === quote) state = doublequote ? QUOTE_IN_QUOTED_FIELD : IN_FIELD;
          else {
            // Take the run of bytes up to the next quote or escape character at once.
            if (nextQuote < pos) {
              nextQuote = buf.indexOf(quote, pos);
              if (nextQuote === -1 || nextQuote > end) nextQuote = end;
            }
            if (nextEscape < pos) {
              nextEscape = escape === -1 ? end : buf.indexOf(escape, pos);
              if (nextEscape === -1 || nextEscape > end) nextEscape = end;
            }
            const stop = nextQuote < nextEscape ? nextQuote : nextEscape;
            for (let lf = buf.indexOf(LF, pos); lf !== -1 && lf < stop; lf = buf.indexOf(LF, lf + 1)) lines++;
            this.addBytes(pos, stop);
            pos = stop - 1;
          }
          break;
        case ESCAPE_IN_QUOTED_FIELD:
          if (c === LF) lines++;
          this.addByte(c);
          state = IN_QUOTED_FIELD;
          break;
        case QUOTE_IN_QUOTED_FIELD:
          if (c === quote) {
            this.addByte(c);
            state = IN_QUOTED_FIELD;
          } else if (c === delimiter) {
            this.saveField();
            state = START_FIELD;
          } else if (c === LF || (c === CR && pos + 1 < end && buf[pos + 1] === LF)) {
            this.saveField();
            return this.endRow(pos, lines);
          } else if (c === CR && pos + 1 >= end && !final) {
            return -1;
          } else if (this.strict) {
            return this.badRow(start, pos, end, lines, `'${this.delimiterChar}' expected after '${String.fromCharCode(quote)}'`);
          } else {
            this.addByte(c);
            state = IN_FIELD;
          }
          break;
      }
      pos++;
    }
    // The data ended inside the row.
    const open = state === IN_QUOTED_FIELD || state === ESCAPE_IN_QUOTED_FIELD || state === ESCAPED_CHAR;
    if (!final) {
      if (open && end - fieldStart > this.fieldSizeLimit) {
        return this.badRow(start, start, end, 0, `field larger than field limit (${this.fieldSizeLimit})`);
      }
      return -1;
    }
    if (open) return this.badRow(start, start, end, 0, "unexpected end of data: quoted field not closed");
    if (state !== START_FIELD || this.count > 0 || this.scratchLen > 0) this.saveField();
    return this.endRow(end, lines);
  }

  /** The row ends at `pos` (its "\n", "\r\n" or the end of data). */
  private endRow(pos: number, lines: number): number {
    const buf = this.work;
    this.rowLines = lines + 1;
    if (buf[pos] === CR) pos++;
    return pos + 1;
  }

  /**
   * Reports a bad row: the text from `start` to the end of the line at `at` is dropped, and parsing
   * resumes on the next line (`at` = `start`: the row's first line only).
   */
  private badRow(start: number, at: number, end: number, lines: number, message: string): number {
    const buf = this.work;
    let nl = buf.indexOf(LF, at);
    if (nl === -1 || nl >= end) nl = end;
    const line = this.line + lines + 1;
    const raw = this.decode.call(buf, start, nl > start && buf[nl - 1] === CR ? nl - 1 : nl);
    this.line = line;
    this.count = -1;
    this.onError(new Error(`CSV: ${message}`), line, raw);
    return nl + 1;
  }

  /**
   * An unterminated row over maxRowLength (a file with no line end): reported with its first bytes
   * and dropped up to the next line end, so memory stays bounded.
   */
  private tooLong(pos: number, end: number): void {
    const raw = this.decode.call(this.work, pos, Math.min(end, pos + 1024));
    this.line++;
    this.skipping = true;
    this.onError(new Error(`CSV: row longer than ${this.maxRowLength} bytes`), this.line, raw);
  }

  /** Appends work[s..e) to the current field. */
  private addBytes(s: number, e: number): void {
    const need = this.scratchLen + (e - s);
    if (need > this.scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
      this.scratch.copy(grown, 0, 0, this.scratchLen);
      this.scratch = grown;
    }
    const buf = this.work;
    const scratch = this.scratch;
    if (e - s < 32) for (let i = s; i < e; i++) scratch[this.scratchLen++] = buf[i]!;
    else {
      buf.copy(scratch, this.scratchLen, s, e);
      this.scratchLen = need;
    }
  }

  private addByte(c: number): void {
    if (this.scratchLen === this.scratch.length) {
      const grown = Buffer.allocUnsafe(this.scratch.length * 2);
      this.scratch.copy(grown);
      this.scratch = grown;
    }
    this.scratch[this.scratchLen++] = c;
  }

  private saveField(): void {
    this.fields[this.count++] = this.decode.call(this.scratch, 0, this.scratchLen);
    this.scratchLen = 0;
  }
}

function trimStart(text: string, s: number, e: number): string {
  while (s < e && text.charCodeAt(s) === SPACE) s++;
  return text.slice(s, e);
}
