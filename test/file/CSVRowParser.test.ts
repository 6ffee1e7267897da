import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse as csvParse, type Options as CsvParseOptions } from "csv-parse/sync";
import { CSVRowParser, type CSVRowParserOptions } from "../../src/file/index.js";

interface Parsed {
  rows: string[][];
  lines: number[];
  errors: { message: string; line: number; raw: string }[];
}

/** Parses `chunks` one push at a time. */
function parseChunks(options: CSVRowParserOptions, chunks: Buffer[]): Parsed {
  const out: Parsed = { rows: [], lines: [], errors: [] };
  const parser = new CSVRowParser(
    options,
    (fields, count, line) => {
      out.rows.push(fields.slice(0, count));
      out.lines.push(line);
    },
    (error, line, raw) => out.errors.push({ message: error.message, line, raw }),
  );
  for (const c of chunks) parser.push(c);
  parser.end();
  return out;
}

function parseText(text: string | Buffer, options: CSVRowParserOptions = {}): Parsed {
  return parseChunks(options, [typeof text === "string" ? Buffer.from(text) : text]);
}

// ---- generated CSV, written the way Python's csv.writer writes it -------------------------------

interface Dialect {
  name: string;
  parser: CSVRowParserOptions;
  csvParse: CsvParseOptions;
  /** Writes one field. */
  write(field: string, quoteAnyway: boolean): string;
  /** Characters fields are made of. */
  chars: string[];
}

const COMMON = ["a", "b", "1", " ", "\u00e9", "\u20ac", "\u{1f600}", ""];
const CSVPARSE_BASE: CsvParseOptions = { bom: true, skip_empty_lines: true, relax_column_count: true, record_delimiter: ["\r\n", "\n"] };

function quoted(field: string, delimiter: string, quote: string, escape: string | null): string {
  let body = field;
  if (escape !== null) body = body.split(escape).join(escape + escape).split(quote).join(escape + quote);
  else body = body.split(quote).join(quote + quote);
  return quote + body + quote;
}

const DIALECTS: Dialect[] = [
  {
    name: "excel",
    parser: {},
    csvParse: { ...CSVPARSE_BASE },
    chars: [...COMMON, ",", '"', "\n", "\r", "\r\n"],
    write: (f, q) => (q || /[,"\r\n]/.test(f) ? quoted(f, ",", '"', null) : f),
  },
  {
    name: "semicolon, single quote",
    parser: { delimiter: ";", quotechar: "'" },
    csvParse: { ...CSVPARSE_BASE, delimiter: ";", quote: "'", escape: "'" },
    chars: [...COMMON, ";", "'", '"', ",", "\n", "\r"],
    write: (f, q) => (q || /[;'\r\n]/.test(f) ? quoted(f, ";", "'", null) : f),
  },
  {
    name: "excel-tab",
    parser: { delimiter: "\t" },
    csvParse: { ...CSVPARSE_BASE, delimiter: "\t" },
    chars: [...COMMON, "\t", '"', ",", "\n"],
    write: (f, q) => (q || /[\t"\r\n]/.test(f) ? quoted(f, "\t", '"', null) : f),
  },
  {
    name: "escapechar, no doublequote",
    parser: { doublequote: false, escapechar: "\\" },
    csvParse: { ...CSVPARSE_BASE, escape: "\\" },
    chars: [...COMMON, ",", '"', "\\", "\n", "\r"],
    write: (f, q) => (q || /[,"\\\r\n]/.test(f) ? quoted(f, ",", '"', "\\") : f),
  },
  {
    name: "quoting none",
    parser: { quotechar: "" },
    csvParse: { ...CSVPARSE_BASE, quote: false },
    chars: [...COMMON, '"', "'"],
    write: (f) => f,
  },
  {
    name: "skipinitialspace",
    parser: { skipinitialspace: true },
    csvParse: { ...CSVPARSE_BASE, ltrim: true },
    // Leading spaces are what skipinitialspace drops, so fields that keep them are quoted.
    chars: [...COMMON, ",", '"', "\n"],
    write: (f, q) => " " + (q || /^ |[,"\r\n]/.test(f) ? quoted(f, ",", '"', null) : f),
  },
];

const rowsArb = (d: Dialect) =>
  fc.array(
    fc.record({
      fields: fc.array(fc.array(fc.constantFrom(...d.chars), { maxLength: 6 }).map((cs) => cs.join("")), { minLength: 1, maxLength: 5 }),
      quote: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      crlf: fc.boolean(),
      emptyLinesAfter: fc.constantFrom(0, 0, 0, 1, 2),
    }),
    { minLength: 1, maxLength: 6 },
  );

const docArb = fc
  .integer({ min: 0, max: DIALECTS.length - 1 })
  .chain((i) => fc.tuple(fc.constant(DIALECTS[i]!), rowsArb(DIALECTS[i]!), fc.boolean(), fc.boolean()));

/** The CSV text of generated rows (a row of one empty field is written quoted, as csv.writer does). */
function writeDoc(d: Dialect, rows: { fields: string[]; quote: boolean[]; crlf: boolean; emptyLinesAfter: number }[], bom: boolean, finalNewline: boolean): { text: string; rows: string[][] } {
  const kept: string[][] = [];
  let text = bom ? "\ufeff" : "";
  rows.forEach((r, i) => {
    let fields = r.fields;
    if (d.name === "quoting none") {
      // Without quoting, a row of one empty field is an empty line: not representable.
      if (fields.length === 1 && fields[0] === "") fields = ["x"];
    }
    const eol = r.crlf ? "\r\n" : "\n";
    const written = fields.map((f, j) => d.write(f, r.quote[j]! || (fields.length === 1 && f === "")));
    text += written.join(d.parser.delimiter ?? ",");
    kept.push(fields);
    const last = i === rows.length - 1;
    if (!last || finalNewline) text += eol;
    if (!last) text += eol.repeat(r.emptyLinesAfter);
  });
  return { text, rows: kept };
}

test("differential: CSVRowParser agrees with csv-parse on generated CSV, whatever the chunk boundaries", () => {
  let runs = 0;
  fc.assert(
    fc.property(docArb, fc.array(fc.nat(), { maxLength: 6 }), ([d, rows, bom, finalNewline], cuts) => {
      runs++;
      const { text, rows: expected } = writeDoc(d, rows, bom, finalNewline);
      const bytes = Buffer.from(text);
      const reference = csvParse(bytes, d.csvParse) as string[][];
      // What was written is what both read.
      assert.deepEqual(reference, expected, `csv-parse on ${JSON.stringify(text)} (${d.name})`);
      const whole = parseText(bytes, d.parser);
      assert.deepEqual(whole.errors, []);
      assert.deepEqual(whole.rows, reference, `CSVRowParser on ${JSON.stringify(text)} (${d.name})`);
      // Every two-chunk split, and a random many-chunk split.
      for (let at = 0; at <= bytes.length; at++) {
        const split = parseChunks(d.parser, [bytes.subarray(0, at), bytes.subarray(at)]);
        assert.deepEqual(split.rows, reference, `split at ${at} of ${JSON.stringify(text)} (${d.name})`);
        assert.deepEqual(split.lines, whole.lines);
      }
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let from = 0;
      for (const p of points) {
        chunks.push(bytes.subarray(from, p));
        from = p;
      }
      chunks.push(bytes.subarray(from));
      assert.deepEqual(parseChunks(d.parser, chunks).rows, reference);
    }),
    { numRuns: 10000 },
  );
  assert.equal(runs, 10000);
});

test("differential: byte at a time, the line numbers count every line up to each row's end", () => {
  fc.assert(
    fc.property(docArb, ([d, rows, bom, finalNewline]) => {
      const { text } = writeDoc(d, rows, bom, finalNewline);
      const bytes = Buffer.from(text);
      const one = parseChunks(
        d.parser,
        [...bytes].map((b) => Buffer.from([b])),
      );
      const whole = parseText(bytes, d.parser);
      assert.deepEqual(one, whole);
      // The last row ends on the last line (a final line end does not start a new line with content).
      const newlines = (text.match(/\n/g) ?? []).length;
      const lastLine = whole.lines[whole.lines.length - 1]!;
      assert.ok(lastLine <= newlines + 1);
      assert.ok(whole.lines.every((l, i) => i === 0 || l > whole.lines[i - 1]!));
    }),
    { numRuns: 1000 },
  );
});

/** As parseChunks, but `onRow` pauses the parser after every `every`-th row; each pause is resumed (as a source does once its pipeline is ready). */
function parsePausing(options: CSVRowParserOptions, chunks: Buffer[], every: number): Parsed & { pauses: number } {
  const out = { rows: [] as string[][], lines: [] as number[], errors: [] as Parsed["errors"], pauses: 0 };
  const parser: CSVRowParser = new CSVRowParser(
    options,
    (fields, count, line) => {
      out.rows.push(fields.slice(0, count));
      out.lines.push(line);
      if (out.rows.length % every === 0) parser.pause();
    },
    (error, line, raw) => out.errors.push({ message: error.message, line, raw }),
  );
  const drain = (done: boolean): void => {
    for (; !done; done = parser.resume()) out.pauses++;
  };
  for (const c of chunks) drain(parser.push(c));
  drain(parser.end());
  return out;
}

test("pause from onRow: no row after it until resume(); paused and resumed anywhere, the same rows, lines and errors", () => {
  fc.assert(
    fc.property(docArb, fc.integer({ min: 1, max: 3 }), fc.nat(), ([d, rows, bom, finalNewline], every, cut) => {
      const { text } = writeDoc(d, rows, bom, finalNewline);
      const bytes = Buffer.from(text);
      const at = cut % (bytes.length + 1);
      const chunks = [bytes.subarray(0, at), bytes.subarray(at)];
      const plain = parseChunks(d.parser, chunks);
      const { pauses, ...paused } = parsePausing(d.parser, chunks, every);
      assert.deepEqual(paused, plain);
      assert.equal(pauses, Math.floor(plain.rows.length / every));
    }),
    { numRuns: 2000 },
  );
  // A pause stops the parser within the chunk: the rows after it wait for resume().
  const seen: string[] = [];
  const parser: CSVRowParser = new CSVRowParser({}, (fields) => {
    seen.push(fields[0]!);
    if (fields[0] === "b") parser.pause();
  }, () => {});
  assert.equal(parser.push(Buffer.from("a\nb\nc\nd")), false);
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(parser.resume(), true);
  assert.deepEqual(seen, ["a", "b", "c"]);
  assert.equal(parser.end(), true);
  assert.deepEqual(seen, ["a", "b", "c", "d"]);
});

test("Python csv semantics: quotes inside fields, text after a closing quote, lone CR, escapes, skipinitialspace", () => {
  assert.deepEqual(parseText('a,b"c,d\n').rows, [["a", 'b"c', "d"]]);
  assert.deepEqual(parseText('"ab"c,d\n').rows, [["abc", "d"]]);
  assert.deepEqual(parseText("a\rb,c\r\nd\n").rows, [["a\rb", "c"], ["d"]]);
  assert.deepEqual(parseText('"a\r\nb",c\n').rows, [["a\r\nb", "c"]]);
  assert.deepEqual(parseText("a\\,b,c\n", { escapechar: "\\", doublequote: false }).rows, [["a,b", "c"]]);
  assert.deepEqual(parseText("a\\\nb,c\n", { escapechar: "\\", doublequote: false }).rows, [["a\nb", "c"]]);
  assert.deepEqual(parseText('"a\\"b",c\n', { escapechar: "\\", doublequote: false }).rows, [['a"b', "c"]]);
  assert.deepEqual(parseText('a,  "b,c",  d\n', { skipinitialspace: true }).rows, [["a", "b,c", "d"]]);
  assert.deepEqual(parseText('a,"b"\n', { quotechar: "" }).rows, [["a", '"b"']]);
  assert.deepEqual(parseText("a,\n,\n\n\r\n,b").rows, [["a", ""], ["", ""], ["", "b"]]);
  assert.deepEqual(parseText('""\n').rows, [[""]]);
  assert.deepEqual(parseText("\ufeffa,b\n").rows, [["a", "b"]]);
  // latin1: the UTF-8 byte-order mark is not one; its bytes are data.
  const latin1 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a,\u00e9\n", "latin1")]);
  assert.deepEqual(parseText(latin1, { encoding: "latin1" }).rows, [["\u00ef\u00bb\u00bfa", "\u00e9"]]);
  assert.deepEqual(parseText(Buffer.from("\ufeffh,\u00e9\r\n1,\"x\ny\"\n", "utf16le"), { encoding: "utf16le" }).rows, [["h", "\u00e9"], ["1", "x\ny"]]);
});

test("bad input: an unterminated quote drops the row's first line only; strict reports text after a closing quote; others go on", () => {
  const r = parseText('a,b\n1,"oops\n2,x\n3,y');
  assert.deepEqual(r.rows, [["a", "b"], ["2", "x"], ["3", "y"]]);
  assert.deepEqual(r.lines, [1, 3, 4]);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.line, 2);
  assert.equal(r.errors[0]!.raw, '1,"oops');
  assert.match(r.errors[0]!.message, /quoted field not closed/);

  const s = parseText('a,b\n"x"y,1\n2,3\n', { strict: true });
  assert.deepEqual(s.rows, [["a", "b"], ["2", "3"]]);
  assert.deepEqual(s.errors.map((e) => e.line), [2]);
  assert.match(s.errors[0]!.message, /',' expected after '"'/);

  // A quoted field that never closes is cut at the field size limit, not buffered to the end.
  const big = Buffer.from('h\n"' + "x".repeat(300) + "\n" + "1\n".repeat(200));
  const chunks: Buffer[] = [];
  for (let i = 0; i < big.length; i += 64) chunks.push(big.subarray(i, i + 64));
  const l = parseChunks({ fieldSizeLimit: 256 }, chunks);
  assert.equal(l.errors.length, 1);
  assert.match(l.errors[0]!.message, /field limit/);
  assert.equal(l.errors[0]!.line, 2);
  assert.equal(l.rows.length, 201);
  assert.deepEqual(l.rows.slice(1).flat(), new Array(200).fill("1"));
});

test("options are checked: one ASCII character each, all different", () => {
  assert.throws(() => new CSVRowParser({ delimiter: ";;" }, () => {}, () => {}), /delimiter/);
  assert.throws(() => new CSVRowParser({ delimiter: "\u00a7" }, () => {}, () => {}), /delimiter/);
  assert.throws(() => new CSVRowParser({ quotechar: "," }, () => {}, () => {}), /differ/);
  assert.doesNotThrow(() => new CSVRowParser({ quotechar: "", escapechar: "" }, () => {}, () => {}));
});

test("a callback that throws: the rows handed over so far are consumed, the next push goes on after them", () => {
  const seen: string[] = [];
  const parser = new CSVRowParser(
    {},
    (fields) => {
      seen.push(fields[0]!);
      if (fields[0] === "2") throw new Error("downstream");
    },
    () => {},
  );
  assert.throws(() => parser.push(Buffer.from('1\n2\n"3"\n4')), /downstream/);
  parser.push(Buffer.from("5\n"));
  parser.end();
  assert.deepEqual(seen, ["1", "2", "3", "45"]);
});
