import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ExpressionBuilder, type Expression } from "../../src/declarative/index.js";

const DECLARATIONS = [
  // WHEN of EQ tests on one subject → a dispatch table; mixed with tests that are not EQ.
  `!WHEN
- test: !EQ [!ITEM EVENT s, 200]
  then: ok
- test: !EQ [!ITEM EVENT s, 404]
  then: !JOIN {items: [missing, !ITEM EVENT x]}
- test: !EQ [!ITEM EVENT s, "200"]
  then: text
- test: !EQ [!ITEM EVENT s, true]
  then: yes
- test: !EQ [!ITEM EVENT s, null]
  then: none
- test: !EQ [!ITEM EVENT s, 200]
  then: duplicate
- else: !ITEM EVENT x`,
  `!WHEN
- test: !EQ [1, !ITEM EVENT s]
  then: one
- test: !EQ [2.5, !ITEM EVENT s]
  then: two and a half`,
  `!WHEN
- test: !EQ [!ITEM EVENT s, 1]
  then: one
- test: !GT [!ITEM EVENT s, 1]
  then: more`,
  // Constant folding around event data.
  "!ADD [!MUL [2, 3], !ITEM {with: !EVENT, item: n, default: !SUB [10, 4]}]",
  "!IF {test: !EQ [!ADD [1, 1], 2], then: !ITEM EVENT x, else: never}",
  "!IF {test: !GT [1, 2], then: never, else: !CAST {what: !ITEM EVENT s, type: str}}",
  "!AND [!LT [1, 2, 3], !NOT {what: !ITEM EVENT x}]",
  "!JOIN {items: [!UPPER {what: abc}, !SUBSTRING {what: abcdef, from: 1, to: 3}, !ITEM EVENT s], miss: '-'}",
  "!DICT {set: {a: !ADD [1, 2], b: !ITEM EVENT s, c: !IN {what: !ITEM EVENT s, where: [200, 404, x]}, d: !LOWER {what: !ITEM EVENT x}}}",
  "!MAP {what: !ITEM EVENT s, in: {200: !ADD [100, 100], 404: nf, x: ex}, else: !EQ [!ITEM EVENT s, !ITEM EVENT x]}",
  "!FIRST [!ITEM EVENT none, !CAST {what: !ITEM EVENT x, type: int}, !ITEM CONTEXT c.d, fallback]",
  "!TUPLE [!DATETIME.GET {with: 971211336, what: year}, !DATETIME.FORMAT {with: 86400, format: '%Y-%m-%d'}, !HASH {what: abc}]",
  // The other families, on event data and on constants.
  "!REGEX.PARSE {what: !CAST {what: !ITEM EVENT x, type: str}, regex: '^(\\d+)(\\D*)$', items: [num, {rest: !UPPER {what: !ARG}}], miss: !ADD [1, 1]}",
  "!TUPLE [!DATETIME.PARSE {what: !ITEM EVENT x, format: '%Y-%m-%d'}, !DATETIME.PARSE {what: '10/Oct/2000:13:55:36 -0700', format: '%d/%b/%Y:%H:%M:%S %z'}]",
  "!DICT.PARSE {what: !JOIN {items: ['a=1 b=', !ITEM EVENT s]}, set: {n: !CAST {what: !ITEM ARG a, type: int}}}",
  "!TUPLE [!SPLIT {what: !CAST {what: !ITEM EVENT s, type: str}, separator: '0'}, !CUT {what: 'a,b,c', delimiter: ',', field: 1}, !CONTAINS {what: !ITEM EVENT x, substring: x}]",
  "!IP.INSUBNET {what: !JOIN {items: ['10.0.0', !ITEM EVENT n], delimiter: '.', miss: '0'}, subnet: [10.0.0.0/30, 192.168.0.0/16]}",
  // ACCESS and FUNCTION/ARGUMENT, a WHEN dispatch on an ACCESS.
  `!WHEN
- test: !EQ [!ACCESS CONTEXT c.d, 200]
  then: ok
- test: !EQ [!ACCESS CONTEXT c.d, x]
  then: !ACCESS {with: !EVENT, path: [s], default: !ADD [2, 2]}
- else: !ACCESS {with: {a: [1, 2]}, path: a.-1}`,
  "!FUNCTION {arguments: {k: !ITEM EVENT s, m: !MUL [3, 3]}, apply: !TUPLE [!ARGUMENT k, !ADD [!ARGUMENT m, 1], !KWARG k]}",
];

const scalar = fc.oneof(fc.constantFrom(200, 404, "200", "x", 1, 2.5, true, false, null, 0, ""), fc.integer({ min: -5, max: 500 }), fc.string({ maxLength: 5 }), fc.double({ noNaN: true }));
const event = fc.record({ s: scalar, x: scalar, n: fc.option(fc.integer(), { nil: undefined }) }, { requiredKeys: ["s"] });
const context = fc.record({ c: fc.oneof(fc.constant(undefined), fc.record({ d: scalar })) });

function outcome(e: Expression, ev: unknown, ctx: Record<string, unknown>): string {
  try {
    return `=${JSON.stringify(e.call({ ...ctx }, structuredClone(ev)), (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`;
  } catch (err) {
    return `!${(err as Error).message}`;
  }
}

test("optimized and unoptimized forms give the same result for random events (fast-check)", () => {
  const builder = new ExpressionBuilder(null);
  for (const d of DECLARATIONS) {
    const [plain] = builder.parse(`---\n${d}`, "p.yaml", { optimize: false });
    const [optimized] = builder.parse(`---\n${d}`, "p.yaml", { optimize: true });
    // The optimized form printed as a declaration compiles and behaves the same too.
    const [reparsed] = builder.parse(`---\n${optimized!.toString()}`, "p.yaml", { optimize: false });
    fc.assert(
      fc.property(event, context, (ev, ctx) => {
        const want = outcome(plain!, ev, ctx);
        assert.equal(outcome(optimized!, ev, ctx), want, `optimized, for ${d}`);
        const again = outcome(reparsed!, ev, ctx);
        // Error locations differ in the reprinted text; the results may not.
        assert.equal(again.startsWith("!") ? "!" : again, want.startsWith("!") ? "!" : want, `reprinted, for ${optimized!.toString()}`);
      }),
      { numRuns: 300, seed: 16, reporter: (r) => { if (r.failed) throw new Error(`${String(r.errorInstance)} ${JSON.stringify(r.counterexample)}`); } },
    );
  }
});

test("the optimizer's rewrites: WHEN of EQ → MAP, constants folded, IF on a constant → its branch", () => {
  const b = new ExpressionBuilder(null);
  const [when] = b.parse(`---\n${DECLARATIONS[0]}`);
  assert.equal(when!.ast.kind === "expr" && when!.ast.tag, "MAP");
  assert.match(when!.toString(), /^!MAP\nwhat: !ITEM EVENT s\nin:\n  200: ok\n  404: !JOIN/);
  // A WHEN with a test that is not EQ stays a WHEN.
  assert.equal(b.parse(`---\n${DECLARATIONS[2]}`)[0]!.toString().split("\n")[0], "!WHEN");
  assert.equal(b.parse("---\n!ADD [!MUL [2, 3], 4]")[0]!.toString(), "10");
  assert.equal(b.parse("---\n!IF {test: !EQ [!ADD [1, 1], 2], then: !ITEM EVENT x, else: never}")[0]!.toString(), "!ITEM EVENT x");
  assert.equal(b.parse("---\n!UPPER {what: abc}")[0]!.toString(), "ABC");
  // A failing constant expression is left to fail per event, with its location.
  assert.equal(b.parse('---\n!ADD [1, "a"]')[0]!.toString(), "!ADD [1, a]");
  // A dict is not folded: every event gets its own.
  const [dict] = b.parse("---\n!DICT {set: {a: 1}}");
  const first = dict!.call({}, null) as Record<string, unknown>;
  first["b"] = 2;
  assert.deepEqual(dict!.call({}, null), { a: 1 });
});
