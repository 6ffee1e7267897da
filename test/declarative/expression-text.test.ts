import { test } from "node:test";
import assert from "node:assert/strict";
import { clock, ExpressionBuilder } from "../../src/declarative/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import { testApp } from "../helpers/components.js";
import { both, evaluate } from "./exprHelpers.js";

test("string functions: STARTSWITH, ENDSWITH, CONTAINS, LOWER, UPPER, SUBSTRING, CUT, SPLIT, JOIN", () => {
  assert.equal(both("!STARTSWITH {what: !ITEM EVENT s, prefix: Hel}", { s: "Hello" }), true);
  assert.equal(both("!STARTSWITH {what: !ITEM EVENT s, prefix: Hel}", {}), false);
  assert.equal(both("!ENDSWITH {what: Hello, postfix: llo}"), true);
  assert.equal(both("!CONTAINS {what: Hello, substring: ell}"), true);
  assert.equal(both("!CONTAINS {what: null, substring: ell}"), false);
  assert.equal(both("!LOWER {what: MiXed}"), "mixed");
  assert.equal(both("!UPPER {what: 5}"), null);
  // BSPump's default `to` is -1: the last character is dropped.
  assert.equal(both("!SUBSTRING {what: abcdef, from: 1}"), "bcde");
  assert.equal(both("!SUBSTRING {what: abcdef, from: -3, to: 6}"), "def");
  assert.equal(both("!CUT {what: 'a:b:c:d', delimiter: ':', field: 2}"), "c");
  assert.throws(() => evaluate("!CUT {what: 'a:b', delimiter: ':', field: 5}"), /!CUT: field 5 out of range/);
  assert.deepEqual(both("!SPLIT {value: 'a,b,,c', separator: ','}"), ["a", "b", "", "c"]);
  assert.deepEqual(both("!SPLIT {value: '  a  b c '}"), ["a", "b", "c"]);
  assert.deepEqual(both("!SPLIT {value: 'a,b,c', separator: ',', max: 1}"), ["a", "b,c"]);
  assert.equal(both("!SPLIT {value: 5, separator: ','}"), null);
  assert.equal(both("!JOIN {items: [a, 1, true, null], delimiter: '-'}"), "a-1-True-");
  assert.equal(both("!JOIN {items: [a, !ITEM EVENT x], miss: null}", {}), null);
  assert.equal(both("!JOIN {items: [a, !ITEM EVENT x], miss: '?'}", {}), "a ?");
  // The vegetable counter of BSPump's examples.
  assert.equal(both("!JOIN {items: [!SUBSTRING {what: !ITEM EVENT name, from: 0, to: 3}, !CUT {what: !ITEM EVENT path, delimiter: /, field: 1}]}", { name: "Potato", path: "/veg/root" }), "Pot veg");
});

test("REGEX family: search, parse into a list or a dict, replace, split, findall", () => {
  assert.equal(both("!REGEX {what: !ITEM EVENT s, regex: '\\d+'}", { s: "ab12" }), true);
  assert.equal(both("!REGEX {what: !ITEM EVENT s, regex: '^\\d+$', hit: yes, miss: no}", { s: "ab12" }), false);
  assert.equal(both("!REGEX {what: !ITEM EVENT s, regex: '(?i)^AB', hit: found, miss: none}", { s: "ab12" }), "found");
  assert.deepEqual(both("!REGEX.PARSE {what: 'Foo 12 bar', regex: '^(\\w+) (\\d+) (\\w+)$'}"), ["Foo", "12", "bar"]);
  const parser = `!REGEX.PARSE
what: !EVENT
regex: '^(\\w+)\\s+(\\w+)\\s+(\\w+)(?:\\s+(\\w+))?$'
items:
  - Foo
  - Bar: !CAST {what: !ARG, type: int, default: -1}
  - Bob: [!CAST {what: !ARG, type: int}, !UPPER {what: !ARG}]
  - Opt: !ARG
set:
  BarPlusOne: !ADD [!ITEM ARG Bar, 1]
unset: [Foo]`;
  assert.deepEqual(both(parser, "hello 42 world"), { Bar: 42, Bob: "WORLD", BarPlusOne: 43 });
  assert.deepEqual(both(parser, "hello x 7 opt"), { Bar: -1, Bob: 7, Opt: "opt", BarPlusOne: 0 });
  assert.equal(both(parser, "no"), null);
  assert.equal(both("!REGEX.PARSE {what: !ITEM EVENT x, regex: '(a)', miss: nomatch}", {}), "nomatch");
  // An expression item gives the key.
  assert.deepEqual(both("!REGEX.PARSE {what: 'k v', regex: '^(\\w) (\\w)$', items: [!ADD [key_, !ARG], second]}"), { key_k: "k", second: "v" });
  assert.deepEqual(both("!REGEX.PARSE {what: 'x=1', regex: '^(?P<k>\\w)=(?P<v>\\d)$'}"), ["x", "1"]);
  assert.equal(both("!REGEX.REPLACE {what: 'a1b22c', regex: '\\d+', replace: '#'}"), "a#b#c");
  assert.equal(both("!REGEX.REPLACE {what: 'john smith', regex: '(\\w+) (\\w+)', replace: '\\2, \\1 $'}"), "smith, john $");
  assert.deepEqual(both("!REGEX.SPLIT {what: 'a1b22c', regex: '\\d+'}"), ["a", "b", "c"]);
  assert.deepEqual(both("!REGEX.SPLIT {what: 'a1b22c', regex: '(\\d+)', max: 1}"), ["a", "1", "b22c"]);
  assert.deepEqual(both("!REGEX.FINDALL {what: 'a1b22c333', regex: '\\d+'}"), ["1", "22", "333"]);
  assert.deepEqual(both("!REGEX.FINDALL {what: 'a=1 b=2', regex: '(\\w)=(\\d)'}"), [["a", "1"], ["b", "2"]]);
  assert.throws(() => evaluate("!REGEX {what: x, regex: '(unclosed'}"), /test.yaml:2:\d+: !REGEX: invalid regex/);
});

test("DATETIME family: NOW, PARSE (formats, %z, time zones, RFC3339, Y flag), FORMAT, GET", () => {
  const saved = clock.now;
  clock.now = () => 1700000000.5;
  try {
    assert.equal(both("!NOW"), 1700000000.5);
    assert.equal(both("!DATETIME.PARSE {what: '10/Oct/2000:13:55:36 -0700', format: '%d/%b/%Y:%H:%M:%S %z'}"), 971211336);
    assert.equal(both("!DATETIME.PARSE {what: '2021-03-04 05:06:07', format: '%Y-%m-%d %H:%M:%S'}"), 1614834367);
    assert.equal(both("!DATETIME.PARSE {what: '2021-03-04 05:06:07', format: '%Y-%m-%d %H:%M:%S', timezone: Europe/Prague}"), 1614834367 - 3600);
    assert.equal(both("!DATETIME.PARSE {what: '2021-07-04 05:06:07', format: '%Y-%m-%d %H:%M:%S', timezone: Europe/Prague}"), 1625375167 - 7200);
    assert.equal(both("!DATETIME.PARSE {what: '2021-03-04T05:06:07.250000Z', format: RFC3339}"), 1614834367.25);
    assert.equal(both("!DATETIME.PARSE {what: 'Mar  4 05:06:07', format: '%b %d %H:%M:%S', flags: Y}"), Date.UTC(2023, 2, 4, 5, 6, 7) / 1000);
    assert.equal(both("!DATETIME.PARSE {what: 'garbage', format: '%Y'}"), null);
    assert.equal(both("!DATETIME.PARSE {what: '2021-02-31', format: '%Y-%m-%d'}"), null);
    assert.equal(both("!DATETIME.FORMAT {with: 971211336, format: '%Y-%m-%dT%H:%M:%S'}"), "2000-10-10T20:55:36");
    assert.equal(both("!DATETIME.FORMAT {with: 971211336, format: '%d %b %Y %H:%M %z %a', timezone: Europe/Prague}"), "10 Oct 2000 22:55 +0200 Tue");
    assert.equal(both("!DATETIME.FORMAT {format: '%Y'}"), "2023");
    assert.equal(both("!DATETIME.GET {with: 971211336.25, what: hour}"), 20);
    assert.equal(both("!DATETIME.GET {with: 971211336.25, what: hour, timezone: Europe/Prague}"), 22);
    assert.equal(both("!DATETIME.GET {with: 971211336.25, what: weekday}"), 1);
    assert.equal(both("!DATETIME.GET {with: 971211336.25, what: isoweekday}"), 2);
    assert.equal(both("!DATETIME.GET {with: 971211336.25, what: microsecond}"), 250000);
    assert.throws(() => evaluate("!DATETIME.PARSE {what: x, format: '%Y', timezone: Mars/Olympus}"), /!DATETIME.PARSE: unknown time zone 'Mars\/Olympus'/);
    assert.throws(() => evaluate("!DATETIME.FORMAT {with: 1, format: '%Q'}"), /unsupported directive '%Q'/);
  } finally {
    clock.now = saved;
  }
});

test("DICT.PARSE and KVLIST: kvs, kvdqs, qs", () => {
  assert.deepEqual(both("!DICT.PARSE {what: 'a=1 b=x=y c=some text d=4'}"), { a: "1", b: "x=y", c: "some text", d: "4" });
  assert.deepEqual(both(`!DICT.PARSE {what: 'a="1" b="say "hi"" c="x"', type: kvdqs}`), { a: "1", b: 'say "hi"', c: "x" });
  assert.deepEqual(both("!DICT.PARSE {what: 'q=a+b%21&x=1', type: qs, set: {n: !CAST {what: !ITEM ARG x, type: int}}, unset: [x]}"), { q: "a b!", n: 1 });
  assert.deepEqual(both("!KVLIST {what: 'a=1 a=2'}"), [["a", "1"], ["a", "2"]]);
  assert.equal(both("!DICT.PARSE {what: !ITEM EVENT missing}"), null);
});

test("IP.PARSE, IP.FORMAT, IP.INSUBNET, HASH", () => {
  assert.equal(both("!IP.PARSE 1.2.3.4"), 0xffff01020304n);
  assert.equal(both("!IP.PARSE {value: '::1'}"), 1n);
  assert.equal(both("!IP.PARSE {value: 'nope'}"), null);
  assert.equal(both("!IP.FORMAT {what: !IP.PARSE 10.0.0.1}"), "10.0.0.1");
  assert.equal(both("!IP.FORMAT {what: 10.0.0.1, format: ipv6}"), "::ffff:a00:1");
  assert.equal(both("!IP.FORMAT {what: '2001:db8:0:0:0:0:0:1'}"), "2001:db8::1");
  assert.equal(both("!IP.INSUBNET {what: !ITEM EVENT ip, subnet: [10.0.0.0/8, 192.168.0.0/16]}", { ip: "192.168.1.1" }), true);
  assert.equal(both("!IP.INSUBNET {what: !ITEM EVENT ip, subnet: 10.0.0.0/8}", { ip: "11.0.0.1" }), false);
  assert.equal(both("!IP.INSUBNET {what: !ITEM EVENT ip, subnet: '2001:db8::/32'}", { ip: "2001:db8::5" }), true);
  assert.equal(both("!IP.INSUBNET {what: !ITEM EVENT ip, subnet: 10.0.0.0/8}", { ip: "x" }), null);
  assert.throws(() => evaluate("!IP.INSUBNET {what: x, subnet: 10.0.0.0/99}"), /is not a subnet/);
  // XXH64 reference values.
  assert.equal(both("!HASH {what: ''}"), 0xef46db3751d8e999n);
  assert.equal(both("!HASH {what: hello}"), 0x26c7827d889f6da3n);
  assert.equal(both("!HASH {what: 5, seed: 3}"), 6n);
});

test("LOOKUP.GET and LOOKUP.CONTAINS use the application's lookups", () => {
  const app = testApp();
  const lookup = new DictionaryLookup(app, "Countries");
  lookup.dictionary.set("CZ", "Czechia");
  app.pumpService.addLookup(lookup);
  const b = new ExpressionBuilder(app);
  assert.equal(both("!LOOKUP.GET {in: Countries, what: !ITEM EVENT c}", { c: "CZ" }, {}, b), "Czechia");
  assert.equal(both("!LOOKUP.GET {in: Countries, what: !ITEM EVENT c}", { c: "XX" }, {}, b), null);
  assert.equal(both("!LOOKUP.CONTAINS {in: Countries, what: CZ}", {}, {}, b), true);
  assert.throws(() => evaluate("!LOOKUP.GET {in: Nope, what: x}", {}, {}, { builder: b }), /test.yaml:2:\d+: !LOOKUP.GET: Lookup 'Nope' not found/);
});

test("LOOKUP.GET locates its lookup once without factories, per call (by the context) with them", () => {
  const app = testApp();
  const b = new ExpressionBuilder(app);
  const [get] = b.parse("---\n!LOOKUP.GET {in: Countries, what: !ITEM EVENT c}", "test.yaml");
  // Not registered yet: an error for this event, found once it is registered.
  assert.throws(() => get!.call({}, { c: "CZ" }), /Lookup 'Countries' not found/);
  const lookup = new DictionaryLookup(app, "Countries");
  lookup.dictionary.set("CZ", "Czechia");
  app.pumpService.addLookup(lookup);
  assert.equal(get!.call({}, { c: "CZ" }), "Czechia");
  lookup.dictionary.set("SK", "Slovakia");
  assert.equal(get!.call({}, { c: "SK" }), "Slovakia", "the same lookup, read per event");
  // A factory registered later decides per call, from the context (BSPump's per-call locate).
  const tenant = new DictionaryLookup(app, "Countries-tenant");
  tenant.dictionary.set("CZ", "Česko");
  app.pumpService.addLookupFactory({ locateLookup: (id, context) => (id === "Countries" && context?.tenant === "t1" ? tenant : undefined) });
  assert.equal(get!.call({ tenant: "t1" }, { c: "CZ" }), "Česko");
  assert.equal(get!.call({ tenant: "t2" }, { c: "CZ" }), "Czechia");
});
