import { test } from "node:test";
import assert from "node:assert/strict";
import { DeclarationError, ExpressionBuilder } from "../../src/declarative/index.js";

function errorsOf(text: string): string[] {
  return new ExpressionBuilder(null).check(text, "decl.yaml").map((e) => e.message);
}

test("a declaration error names file, line, column, tag and what was expected; check() reports all of them", () => {
  const text = `---
!DICT
with: !EVENT
set:
  a: !ADD {what: 1}
  b: !SUBSTRING {what: x, form: 1}
  c: !ITEM WHATEVER key
  d: !REGEX {what: x}
  e: !DATETIME.PARSE {what: x, format: '%Y', timezone: Nowhere/City}
  f: !CAST {what: 1, type: integer}
  g: !Upper {what: x}
---
!LT [1]
---
[unclosed
`;
  const errors = errorsOf(text);
  assert.deepEqual(errors, [
    "decl.yaml:5:6: !ADD: expected a sequence (`!TAG [...]`), got a mapping (`!TAG {...}`)",
    "decl.yaml:6:33: !SUBSTRING: unexpected argument 'form' (expected what, from, to)",
    "decl.yaml:7:6: !ITEM: expected 'EVENT key', 'CONTEXT key', 'KWARGS key' or 'ARG key', got 'WHATEVER key'",
    "decl.yaml:8:6: !REGEX: missing argument 'regex'",
    "decl.yaml:9:56: !DATETIME.PARSE: unknown time zone 'Nowhere/City'",
    "decl.yaml:10:6: !CAST: unknown type 'integer' (int, float, str, bool, list, dict, si8…si256, ui8…ui256, fp16…fp128, ui1, si1)",
    "decl.yaml:11:6: Unknown declarative expression '!Upper'; did you mean !UPPER?",
    "decl.yaml:13:1: !LT: expected at least 2 items, got 1",
    "decl.yaml:16:1: Syntax error: Flow sequence must end with a ]",
  ]);
  const thrown = (() => {
    try {
      new ExpressionBuilder(null).parse(text, "decl.yaml");
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(thrown instanceof DeclarationError);
  assert.equal(thrown.errors.length, errors.length);
  assert.deepEqual(errorsOf("---\n!ADD [1, 2]\n"), []);
  assert.deepEqual(errorsOf("---\n- a: &x [*x]\n"), errorsOf("---\n- a: &x [*x]\n"));
});

test("aliases that expand without bound are an error, not a hang", () => {
  let text = "---\na: &a [x, x, x, x, x, x, x, x, x]\n";
  for (let i = 1; i < 10; i++) text += `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]\n`;
  const [first] = errorsOf(text.replace("---\n", "---\n!TUPLE\n- !DICT\n  set:\n").replace(/^([a-j]:)/gm, "    $1"));
  assert.match(first ?? "", /more than 200000 nodes|nested deeper/);
});

/** mulberry32: a seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CORPUS = [
  "---\n!ADD [1, !ITEM EVENT a, 3]\n",
  "---\n!DICT\nwith: !EVENT\nset:\n  a: !MUL [2, !ITEM EVENT x]\n  b: !JOIN {items: [a, !ITEM EVENT x], delimiter: '-'}\nunset: [c]\n",
  "---\n!WHEN\n- test: !EQ [!ITEM EVENT s, 200]\n  then: ok\n- test: !LT [400, !ITEM EVENT s, 500]\n  then: client\n- else: other\n",
  "---\n!REGEX.PARSE\nwhat: !EVENT\nregex: '^(\\w+) (\\d+)$'\nitems: [name, {num: !CAST {what: !ARG, type: int}}]\n",
  "---\n!DATETIME.PARSE {what: !ITEM EVENT t, format: '%d/%b/%Y:%H:%M:%S %z'}\n",
  "---\n!IF {test: !IN {what: !ITEM EVENT c, where: [a, b]}, then: !UPPER {what: !ITEM EVENT c}, else: !LOWER {what: x}}\n",
  "---\n!MAP {what: !ITEM EVENT k, in: {1: one, 2: !ADD [1, 1]}, else: !NOW}\n---\n!SELF {event: !EVENT}\n",
  "---\n!FOR {each: !ITEM EVENT l, do: !DICT {set: {v: !ARG}}}\n",
  "---\n!DICT.PARSE {what: !ITEM EVENT q, type: qs, set: {n: !ITEM ARG x}}\n",
  "---\n!IP.INSUBNET {what: !ITEM EVENT ip, subnet: [10.0.0.0/8]}\n---\n!HASH {what: !ITEM EVENT s}\n",
  "---\n!SUBSTRING {what: !ITEM EVENT s, from: 1, to: 3}\n---\n!CUT {what: 'a:b', delimiter: ':', field: 0}\n",
  "---\n!!ui8 5\n---\n!CONFIG x\n---\n!INCLUDE nope\n---\n!FIRST [!ITEM EVENT a, !TRY [1]]\n",
  "---\n!FUNCTION\nname: f\narguments: {x: 1, y: !ITEM EVENT a}\napply: !ADD [!ARGUMENT x, !ARGUMENT y, !ACCESS EVENT l.0]\n",
  "---\n!ACCESS {with: !EVENT, path: [l, -1], default: !FUNCTION {arguments: [z], apply: !ARGUMENT z}}\n",
];
const PIECES = ["!", "!ADD", "!DICT", "!ITEM EVENT", "!WHEN", "- ", ": ", "[", "]", "{", "}", "\n", "  ", "&a ", "*a", "'", '"', "%", "\\", "#", "|", ">", "---\n", "!!ui8 ", "!REGEX {regex: '(' }", "0x", "-1", "null", "~", "\t", ",", "?", "@", "é", "\u0000"];

test("10,000 random and mutated declarations: each compiles or gives a DeclarationError with a location", () => {
  const rnd = prng(20261204);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const builder = new ExpressionBuilder(null);
  let compiled = 0;
  let rejected = 0;
  for (let i = 0; i < 10_000; i++) {
    let text = pick(CORPUS);
    const edits = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rnd() * (text.length + 1));
      const op = rnd();
      if (op < 0.35) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 4));
      else if (op < 0.75) text = text.slice(0, at) + pick(PIECES) + text.slice(at);
      else if (op < 0.9) text = text.slice(0, at) + text.slice(at).replace(/![A-Z.]+/, pick(["!ADD", "!DICT", "!IF", "!X", "!REGEX.PARSE", "!NOW", "!ITEM", "!ACCESS", "!ARGUMENT", "!FUNCTION"]));
      else text = text.split("\n").map((l, j) => (j === at % 7 ? ` ${l}` : l)).join("\n");
    }
    if (rnd() < 0.05) text = Array.from({ length: 1 + Math.floor(rnd() * 60) }, () => pick(PIECES)).join("");
    try {
      const exprs = builder.parse(text, "fuzz.yaml", { optimize: rnd() < 0.5 });
      compiled++;
      for (const e of exprs) {
        try {
          e.call({}, { a: 1, s: 200, t: "x", l: [1, 2], c: "a" });
        } catch {
          // A runtime failure is for the pipeline's error rules; compiling was the point here.
        }
      }
    } catch (e) {
      if (!(e instanceof DeclarationError)) assert.fail(`not a DeclarationError for ${JSON.stringify(text)}: ${(e as Error).stack}`);
      for (const err of e.errors) {
        assert.ok(err.loc.line >= 1 && err.loc.column >= 1 && err.loc.source === "fuzz.yaml", `${JSON.stringify(text)} → ${err.message}`);
        assert.match(err.message, /^fuzz\.yaml:\d+:\d+: /);
      }
      rejected++;
    }
  }
  assert.equal(compiled + rejected, 10_000);
  // Both outcomes are exercised (about one in ten mutants still compiles).
  assert.ok(compiled > 800 && rejected > 1000, `${compiled} compiled, ${rejected} rejected`);
});
