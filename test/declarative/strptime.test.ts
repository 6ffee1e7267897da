import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compileScanner } from "../../src/declarative/expression/strptimeCode.js";
import { strptime, utcMs } from "../../src/declarative/expression/timefmt.js";

// Formats the compiled scanner takes, and the texts that test its edges: widths, month-name
// spellings, whitespace runs, offsets with and without colons and seconds, leftovers.
const FORMATS = [
  "%d/%b/%Y:%H:%M:%S %z",
  "%Y-%m-%dT%H:%M:%S.%fZ",
  "%Y-%m-%d %H:%M:%S",
  "%b %d %H:%M:%S",
  "%d.%m.%y %I:%M %p",
  "%Y%j",
  "%j/%Y",
  "%H:%M:%S%z",
  "%Y-%m-%dT%H:%M:%S%z",
  "100%% %Y",
];

const ALPHABET = "0123456789 :/-.+ZTAPMampJanjanJANDecFebx%\t\u00a0\u2003";

function sample(format: string, r: number): string {
  // A valid-looking text for the format, then mutated.
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(Math.abs(Math.sin(r++)) * 1e6) % xs.length]!;
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%") {
      out += ch === " " ? pick([" ", "  ", "\t", ""]) : ch;
      continue;
    }
    const d = format[++i]!;
    out += {
      Y: pick(["2024", "1999", "0042", "199", "20245"]),
      y: pick(["24", "69", "68", "7"]),
      m: pick(["1", "01", "12", "13", "0", "123"]),
      d: pick(["1", "09", "29", "31", "30", "32"]),
      H: pick(["0", "23", "24", "7"]),
      I: pick(["12", "1", "11"]),
      M: pick(["00", "59", "60", "5"]),
      S: pick(["00", "59", "60", "61", "62"]),
      f: pick(["1", "123456", "1234567", "05"]),
      j: pick(["1", "60", "366", "0001"]),
      b: pick(["Jan", "jan", "JAN", "jAn", "Feb", "Dec", "Ja", "Janu"]),
      p: pick(["AM", "pm", "Pm", "XM"]),
      z: pick(["+0100", "-07:00", "+01:00:30", "+010030", "Z", "+1", "-0700:", "+01:0"]),
      "%": "%",
    }[d] ?? "";
  }
  return out;
}

function same(format: string, text: string): void {
  const scanned = strptime(format)(text, 2020);
  const fromRegex = strptime(format, false)(text, 2020);
  assert.deepEqual(scanned === null ? null : { ...scanned }, fromRegex === null ? null : { ...fromRegex }, `${format} on ${JSON.stringify(text)}`);
}

test("the compiled strptime scanner gives what the regex parser gives, on valid and mutated texts", () => {
  for (const format of FORMATS) {
    assert.notEqual(compileScanner(format, new Map(), () => null), null, `${format} is compiled`);
    for (let r = 0; r < 400; r++) same(format, sample(format, r * 7 + format.length));
  }
  fc.assert(
    fc.property(fc.constantFrom(...FORMATS), fc.nat(), fc.array(fc.constantFrom(...ALPHABET), { maxLength: 4 }), fc.nat({ max: 40 }), (format, r, noise, at) => {
      const text = sample(format, r);
      const cut = Math.min(at, text.length);
      same(format, text.slice(0, cut) + noise.join("") + text.slice(cut));
      same(format, text.slice(0, cut) + text.slice(cut + noise.length));
    }),
    { numRuns: 3000 },
  );
});

test("strptime values: the Apache time with an offset, RFC 3339 fractions, %p, %y and %j", () => {
  const apache = strptime("%d/%b/%Y:%H:%M:%S %z")("10/Oct/2000:13:55:36 -0700", null)!;
  assert.equal(apache.ms - apache.offset! * 1000, Date.UTC(2000, 9, 10, 20, 55, 36));
  const rfc = strptime("%Y-%m-%dT%H:%M:%S.%fZ")("2024-02-29T23:59:59.5Z", null)!;
  assert.deepEqual({ ...rfc }, { ms: Date.UTC(2024, 1, 29, 23, 59, 59), micro: 500000, offset: null });
  assert.equal(strptime("%Y-%m-%d")("2023-02-29", null), null, "no 29 February in 2023");
  assert.equal(strptime("%d.%m.%y %I:%M %p")("01.02.03 12:30 am", null)!.ms, Date.UTC(2003, 1, 1, 0, 30));
  assert.equal(strptime("%j/%Y")("60/2024", null)!.ms, Date.UTC(2024, 1, 29));
  assert.equal(strptime("%b %d %H:%M:%S")("Mar  7 01:02:03", 2021)!.ms, Date.UTC(2021, 2, 7, 1, 2, 3), "the default year, whitespace run");
  assert.equal(strptime("%b %d")("mAr 7", 2021), null, "Python's spellings of month names only");
});

test("formats that need backtracking keep the regex parser", () => {
  for (const format of ["%d%Y", "%H%M", "%Y%m%d", "%B %d", "%a %b %d", "%z:%S", "%Y-%m-%d %Z", "%m1"]) {
    assert.equal(compileScanner(format, new Map(), () => null), null, format);
  }
  // ... and still parse what Python parses.
  assert.equal(strptime("%d%Y")("12024", null)!.ms, Date.UTC(2024, 0, 1));
  assert.equal(strptime("%H%M")("123", null)!.ms, Date.UTC(1900, 0, 1, 12, 3));
});

test("utcMs is Date.UTC for every year from 100", () => {
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (y, mo, d, h, mi, s) => {
      assert.equal(utcMs(y, mo, d, h, mi, s), Date.UTC(y, mo - 1, d, h, mi, s));
    }),
    { numRuns: 5000 },
  );
});
