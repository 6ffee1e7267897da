// The floor: the best plain Node.js loop for each workload — the file read in 1 MiB Buffers,
// lines split by byte search, then the same parse/aggregate code as the pump, no framework.
// Usage: node bench/floor.mjs <workload> <data-file> [more files: W3text reads them one after another]; prints one JSON line.
import { closeSync, openSync, readSync } from "node:fs";
import { parse } from "csv-parse";
import { CSVRowParser } from "../dist/src/codec/CSVRowParser.js";
import { WindowTotals, c1Keep, enrich } from "./work.mjs";

const [workload, file] = process.argv.slice(2);
const CHUNK = 1 << 20;
const PIECE = 1 << 16;

/** Calls onLine(buf, start, end) for each line (end excludes "\n"); returns the line count. */
function eachLine(path, onLine) {
  const fd = openSync(path, "r");
  let buf = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let lines = 0;
  for (;;) {
    if (filled === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = readSync(fd, buf, filled, buf.length - filled, null);
    const end = filled + n;
    let start = 0;
    let nl;
    while ((nl = buf.indexOf(10, start)) !== -1 && nl < end) {
      onLine(buf, start, nl + 1);
      lines++;
      start = nl + 1;
    }
    if (n === 0) {
      if (start < end) {
        onLine(buf, start, end);
        lines++;
      }
      break;
    }
    buf.copy(buf, 0, start, end);
    filled = end - start;
  }
  closeSync(fd);
  return lines;
}

/** Like eachLine, but decodes complete lines a piece at a time and calls onLine(string). */
function eachTextLine(path, onLine) {
  const fd = openSync(path, "r");
  let buf = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let lines = 0;
  for (;;) {
    const n = readSync(fd, buf, filled, buf.length - filled, null);
    const end = filled + n;
    const last = n === 0 ? end : buf.lastIndexOf(10, end - 1) + 1;
    // Decode in pieces of at most 64 KiB (cut at a newline): a 1 MiB string lands in V8's
    // large-object space, which only a full GC frees — RSS ~110 MB instead of ~53 MB, and slower.
    let from = 0;
    while (from < last) {
      let to = Math.min(last, from + PIECE);
      if (to < last) to = buf.lastIndexOf(10, to - 1) + 1;
      if (to <= from) to = last;
      const text = buf.toString("utf8", from, to);
      let start = 0;
      let nl;
      while ((nl = text.indexOf("\n", start)) !== -1) {
        onLine(text.slice(start, nl));
        lines++;
        start = nl + 1;
      }
      if (start < text.length) {
        onLine(text.slice(start));
        lines++;
      }
      from = to;
    }
    if (n === 0) break;
    if (last === 0 && end === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, end);
      buf = bigger;
      filled = end;
      continue;
    }
    buf.copy(buf, 0, last, end);
    filled = end - last;
  }
  closeSync(fd);
  return lines;
}

/**
 * bspump's own CSV reader (CSVRowParser from dist/, called directly, no pipeline) fed 1 MiB chunks
 * read into one reused Buffer (the parser copies what it keeps); an object per row keyed by the
 * header, as FileCSVSource makes. Calls onRecord(row) per row; returns the row count.
 */
function csvRowParserEach(path, onRecord) {
  let records = 0;
  let names = null;
  const parser = new CSVRowParser(
    {},
    (fields, count) => {
      if (names === null) {
        names = fields.slice(0, count);
        return;
      }
      const row = {};
      for (let i = 0; i < names.length; i++) row[names[i]] = i < count ? fields[i] : null;
      records++;
      onRecord(row);
    },
    (error, line) => {
      throw new Error(`line ${line}: ${error.message}`);
    },
  );
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) break;
    parser.push(n === CHUNK ? buf : buf.subarray(0, n));
  }
  closeSync(fd);
  parser.end();
  return records;
}

async function csvParseEach(path, onRecord) {
  // csv-parse fed 1 MiB chunks, rows taken from 'data' events — as FileCSVSource does, without the
  // framework. (Its `on_record` hook was slower: it builds an info object per row.)
  let records = 0;
  const parser = parse({ columns: true });
  parser.on("data", (record) => {
    records++;
    onRecord(record);
  });
  const ended = new Promise((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
  });
  const fd = openSync(path, "r");
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) break;
    parser.write(n === CHUNK ? buf : buf.subarray(0, n));
  }
  closeSync(fd);
  parser.end();
  await ended;
  return records;
}

const t0 = performance.now();
let events = 0;
let out = 0;
let check = null;
switch (workload) {
  case "W3": {
    let bytes = 0;
    events = eachLine(file, (buf, s, e) => {
      const line = buf.subarray(s, e); // an event per line, as the pump hands on
      bytes += line.length;
      out++;
    });
    check = { bytes };
    break;
  }
  case "W1": {
    // One decode per chunk, then a string slice per line: faster than a toString per line.
    events = eachTextLine(file, (line) => {
      const ev = enrich(JSON.parse(line));
      if (ev !== null) out++;
    });
    break;
  }
  case "C1": {
    // The W1 loop with the filter written by hand.
    events = eachTextLine(file, (line) => {
      if (c1Keep(JSON.parse(line))) out++;
    });
    break;
  }
  case "W1bytes": {
    events = eachLine(file, (buf, s, e) => {
      const ev = enrich(JSON.parse(buf.toString("utf8", s, e)));
      if (ev !== null) out++;
    });
    break;
  }
  case "W3text": {
    let chars = 0;
    events = 0;
    for (const path of process.argv.slice(3)) {
      events += eachTextLine(path, (line) => {
        chars += line.length;
        out++;
      });
    }
    check = { chars };
    break;
  }
  case "W2read": {
    events = csvRowParserEach(file, () => out++);
    break;
  }
  case "W2": {
    const w = new WindowTotals(60);
    events = csvRowParserEach(file, (r) => {
      w.add(Number(r.ts), r.user, Number(r.bytes));
      out++;
    });
    check = w.finish();
    break;
  }
  case "W2readCsvParse": {
    events = await csvParseEach(file, () => out++);
    break;
  }
  case "W2csvParse": {
    const w = new WindowTotals(60);
    events = await csvParseEach(file, (r) => {
      w.add(Number(r.ts), r.user, Number(r.bytes));
      out++;
    });
    check = w.finish();
    break;
  }
  case "W2split": {
    // W2 with a hand-written splitter instead of csv-parse (the data has no quoted fields):
    // what a framework-free loop could do at best; shown for scale only.
    const w = new WindowTotals(60);
    let header = true;
    events = eachLine(file, (buf, s, e) => {
      if (header) { header = false; return; }
      const c1 = buf.indexOf(44, s);
      const c2 = buf.indexOf(44, c1 + 1);
      const c3 = buf.indexOf(44, c2 + 1);
      const c4 = buf.indexOf(44, c3 + 1);
      const c5 = buf.indexOf(44, c4 + 1);
      w.add(Number(buf.latin1Slice(s, c1)), buf.latin1Slice(c1 + 1, c2), Number(buf.latin1Slice(c4 + 1, c5)));
      out++;
    }) - 1;
    check = w.finish();
    break;
  }
  default:
    throw new Error(`unknown workload ${workload}`);
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ system: "floor", workload, events, out, seconds, maxrss_kb: process.resourceUsage().maxRSS, check }) + "\n");
