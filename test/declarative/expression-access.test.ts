import { test } from "node:test";
import assert from "node:assert/strict";
import { DeclarationError, ExpressionBuilder } from "../../src/declarative/index.js";
import { both, evaluate } from "./exprHelpers.js";

const EV = { user: { name: "Frodo", roles: ["ring-bearer", "hobbit"], none: null }, hits: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }], "a.b": "flat" };

test("ACCESS: a path of keys and indexes in nested dicts and lists, scalar and mapping forms", () => {
  assert.equal(both("!ACCESS EVENT user.name", EV), "Frodo");
  assert.equal(both("!ACCESS EVENT user.roles.1", EV), "hobbit");
  assert.equal(both("!ACCESS EVENT user.roles.-1", EV), "hobbit", "a negative index counts from the end");
  assert.equal(both("!ACCESS EVENT hits.0.ip", EV), "10.0.0.1");
  assert.equal(both("!ACCESS CONTEXT kafka.topic", {}, { kafka: { topic: "logs" } }), "logs");
  assert.equal(evaluate("!ACCESS ARG 0.x", {}, {}, { arg: [{ x: 3 }] }), 3);
  assert.equal(new ExpressionBuilder(null).parse("---\n!ACCESS KWARGS opts.level")[0]!.call({}, {}, undefined, { opts: { level: 2 } }), 2);
  // Mapping form: any value, a list path (for keys with dots), a default.
  assert.equal(both("!ACCESS {with: !EVENT, path: [a.b]}", EV), "flat");
  assert.equal(both("!ACCESS {with: !ITEM EVENT hits, path: [1, ip]}", EV), "10.0.0.2");
  assert.equal(both("!ACCESS {with: !EVENT, path: user.email, default: nobody}", EV), "nobody");
  assert.equal(both("!ACCESS {with: !EVENT, path: hits.5.ip, default: 0}", EV), 0, "an index past the end is missing");
  assert.equal(both("!ACCESS {with: !EVENT, path: hits.x, default: 0}", EV), 0, "a key on a list is missing");
  assert.equal(both("!ACCESS {with: !EVENT, path: user.name.x, default: 0}", EV), 0, "a step into a string is missing");
  // None vs missing, as ITEM: a key that holds None is not missing.
  assert.equal(both("!ACCESS {with: !EVENT, path: user.none, default: 7}", EV), null);
  assert.equal(both("!ACCESS EVENT user.missing", EV), null);
  assert.equal(both("!ACCESS EVENT user.name", null), null, "None is walked into nothing");
  // A literal `with` folds to its value.
  assert.equal(new ExpressionBuilder(null).parse("---\n!ACCESS {with: {a: [1, 2]}, path: a.1}")[0]!.toString(), "2");
});

test("ACCESS: bad paths and bases are DeclarationErrors with a location", () => {
  assert.throws(() => evaluate("!ACCESS SOMETHING a.b"), (e: Error) => e instanceof DeclarationError && /test.yaml:2:1: !ACCESS: expected 'EVENT path'/.test(e.message));
  assert.throws(() => evaluate("!ACCESS EVENT a..b"), /!ACCESS: 'path' has an empty or non-text key/);
  assert.throws(() => evaluate("!ACCESS {with: !EVENT, path: !ITEM EVENT p}"), /!ACCESS: 'path' must be a literal/);
  assert.throws(() => evaluate("!ACCESS {with: !EVENT}"), /!ACCESS: missing argument 'path'/);
});

test("FUNCTION with arguments and ARGUMENT: the caller's keyword arguments, else the declared defaults", () => {
  const b = new ExpressionBuilder(null);
  const [fn] = b.parse(`---
!FUNCTION
name: greet
arguments:
  greeting: Hello
  who: !ITEM EVENT name
apply: !JOIN {items: [!ARGUMENT greeting, !ARGUMENT who]}
`);
  assert.equal(fn!.call({}, { name: "Sam" }), "Hello Sam");
  assert.equal(fn!.call({}, { name: "Sam" }, undefined, { greeting: "Hi" }), "Hi Sam");
  assert.equal(fn!.call({}, { name: "Sam" }, undefined, { who: "Frodo" }), "Hello Frodo");
  // A list of names: no default, None when the caller gives nothing.
  assert.equal(both("!FUNCTION {arguments: [x], apply: !ISNONE {what: !ARGUMENT x}}"), true);
  // Nested: an inner function sees the outer's arguments, its own defaults are evaluated in the caller's scope.
  assert.equal(both("!FUNCTION {arguments: {x: 2}, apply: !FUNCTION {arguments: {y: !MUL [!ARGUMENT x, 10]}, apply: !ADD [!ARGUMENT x, !ARGUMENT y]}}"), 22);
  // Without arguments a FUNCTION is its `apply` (BSPump's FUNCTION).
  assert.equal(both("!FUNCTION {name: main, apply: !ADD [1, !ITEM EVENT n]}", { n: 2 }), 3);
  // The arguments are the function's: the caller's keyword arguments are back after the call.
  const [outer] = b.parse("---\n!TUPLE [!FUNCTION {arguments: {k: inner}, apply: !KWARG k}, !KWARG k]");
  assert.deepEqual(outer!.call({}, {}, undefined, { k: undefined }), ["inner", null]);
  // SELF inside a function with arguments recurses with the same arguments.
  const [count] = b.parse(`---
!FUNCTION
arguments: {step: 1}
apply: !IF
  test: !GE [!ITEM EVENT n, 10]
  then: !ITEM EVENT n
  else: !SELF {event: !DICT {set: {n: !ADD [!ITEM EVENT n, !ARGUMENT step]}}}
`);
  assert.equal(count!.call({}, { n: 0 }, undefined, { step: 4 }), 12);
});

test("ARGUMENT outside a FUNCTION or not declared, bad `arguments`: DeclarationErrors, all reported", () => {
  assert.throws(() => evaluate("!ARGUMENT x"), (e: Error) => e instanceof DeclarationError && /test.yaml:2:1: !ARGUMENT: 'x' is not an argument: !ARGUMENT is used inside a !FUNCTION/.test(e.message));
  assert.throws(() => evaluate("!FUNCTION {arguments: [a], apply: !ARGUMENT b}"), /!ARGUMENT: 'b' is not an argument of the enclosing !FUNCTION \(declared: a\)/);
  assert.throws(() => evaluate("!FUNCTION {arguments: [a, a], apply: 1}"), /!FUNCTION: an argument name must be a non-empty text, given once/);
  assert.throws(() => evaluate("!FUNCTION {arguments: x, apply: 1}"), /!FUNCTION: 'arguments' must be a list of names or a mapping/);
  // Every error of the declaration, not only the first.
  try {
    evaluate("!TUPLE [!ARGUMENT x, !FUNCTION {arguments: [a], apply: !ARGUMENT b}, !ACCESS NOPE a]");
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof DeclarationError);
    assert.deepEqual(e.errors.map((x) => x.tag), ["ARGUMENT", "ARGUMENT", "ACCESS"]);
  }
});

test("every tag the original registers (bitswan 2026.4.13.50's expression module, and INCLUDE/CONFIG of its builder) compiles here", () => {
  const original = ["ADD", "AND", "ARG", "ARGS", "CAST", "CONTAINS", "CONTEXT", "CONTEXT.SET", "CUT", "DATETIME.FORMAT", "DATETIME.GET", "DATETIME.PARSE", "DEBUG", "DICT", "DICT.PARSE", "DIV", "ENDSWITH", "EQ", "EVENT", "FIRST", "FOR", "FUNCTION", "GE", "GT", "HASH", "IF", "IN", "IP.FORMAT", "IP.INSUBNET", "IP.PARSE", "IS", "ISNOT", "ITEM", "JOIN", "KWARG", "KWARGS", "LE", "LIST", "LOOKUP.CONTAINS", "LOOKUP.GET", "LOWER", "LT", "MAP", "MOD", "MUL", "NE", "NOT", "NOW", "OR", "POW", "REGEX", "REGEX.FINDALL", "REGEX.PARSE", "REGEX.REPLACE", "REGEX.SPLIT", "SELF", "SPLIT", "STARTSWITH", "SUB", "SUBSTRING", "TUPLE", "UPPER", "VALUE", "WHEN"];
  const b = new ExpressionBuilder(null);
  for (const tag of [...original, "ACCESS", "ARGUMENT"]) {
    // An unknown tag is "Unknown declarative expression"; a known one fails, if at all, on its arguments.
    try {
      b.parse(`---\n!${tag} {}`, "t.yaml");
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /Unknown declarative expression/, tag);
    }
  }
  assert.throws(() => b.parse("---\n!NOSUCHTAG {}", "t.yaml"), /Unknown declarative expression '!NOSUCHTAG'/);
});
