// The fast path of compiled queries: the top level of a query, on a dict event, generated as the
// source of one function. Closures alone cost ~150 ns per event on the C1 bench query (every node
// a call, and the nodes of one kind share V8's type feedback, so field reads and calls go
// megamorphic); one generated function per query reads each field once with a constant key and
// compares with constants inline (~10 ns, as a hand-written `if`). Only plain values go into the
// source — strings via JSON.stringify, finite numbers, booleans, null; everything else (dotted
// paths, lists, regexes, sub-queries) stays a closure from query.ts, called from the generated code.
// The query has been validated by the closure compiler before any of this runs.

type Test = (value: unknown) => boolean;

export interface CodegenParts {
  /** The closure matcher of the whole query: non-dict events go there. */
  slow: Test;
  /** The closure test of one top-level key (a `$` operator, or a dotted path) on the event. */
  keyTest(key: string, operand: unknown): Test;
  /** The closure test of a condition (`operand`) on a field's value. */
  valueTest(key: string, operand: unknown): Test;
  /** The closure test of one operator on a field's value. */
  operatorTest(key: string, op: string, operand: unknown): Test;
}

type Literal = string | number | boolean | null;

function isLiteral(x: unknown): x is Literal {
  return x === null || typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x));
}

function lit(x: Literal): string {
  return typeof x === "string" ? JSON.stringify(x) : String(x);
}

function isOperatorMap(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x) || x instanceof Uint8Array) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => k.startsWith("$"));
}

/** Generates the matcher; returns null when the query has nothing the fast path helps with. */
export function generateMatcher(query: Readonly<Record<string, unknown>>, parts: CodegenParts): Test | null {
  const T: Test[] = [];
  const call = (t: Test, arg: string): string => `T[${T.push(t) - 1}](${arg})`;
  const lines: string[] = [];
  let inline = 0;

  const equals = (x: Literal): string => `(v === ${lit(x)} || (Array.isArray(v) && v.includes(${lit(x)})))`;
  const operator = (key: string, op: string, operand: unknown): string => {
    const slow = () => call(parts.operatorTest(key, op, operand), "v");
    switch (op) {
      case "$eq": return isLiteral(operand) ? equals(operand) : slow();
      case "$ne": return isLiteral(operand) ? `!${equals(operand)}` : slow();
      case "$in": case "$nin": {
        if (!Array.isArray(operand) || operand.length > 16 || !operand.every(isLiteral)) return slow();
        // A list value is left to the closure, which tests its elements.
        const any = operand.map((x) => `v === ${lit(x)}`).join(" || ");
        const expr = `(${any ? any + " || " : ""}(Array.isArray(v) && ${call(parts.operatorTest(key, "$in", operand), "v")}))`;
        return op === "$in" ? expr : `!${expr}`;
      }
      case "$gt": case "$gte": case "$lt": case "$lte": {
        if (!isLiteral(operand) || (typeof operand !== "number" && typeof operand !== "string")) return slow();
        const cmp = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" }[op];
        return `(typeof v === "${typeof operand}" ? v ${cmp} ${lit(operand)} : Array.isArray(v) && ${slow()})`;
      }
      case "$exists": return operand ? "v !== undefined" : "v === undefined";
      default: return slow();
    }
  };

  for (const [key, operand] of Object.entries(query)) {
    if (key.startsWith("$") || key.includes(".")) {
      lines.push(`if (!${call(parts.keyTest(key, operand), "e")}) return false;`);
      continue;
    }
    let expr: string;
    if (isLiteral(operand)) expr = equals(operand);
    else if (isOperatorMap(operand)) expr = Object.entries(operand).map(([op, x]) => operator(key, op, x)).join(" && ");
    else expr = call(parts.valueTest(key, operand), "v");
    inline++;
    // An inherited member (`constructor`, `toString`) is not a field of the event.
    lines.push(`v = e[${JSON.stringify(key)}]; if (typeof v === "function") v = undefined;`, `if (!(${expr})) return false;`);
  }
  if (inline === 0) return null;
  const source =
    `"use strict"; return function match(e) {\n` +
    `  if (typeof e !== "object" || e === null || Array.isArray(e) || e instanceof Uint8Array) return slow(e);\n` +
    `  let v;\n  ${lines.join("\n  ")}\n  return true;\n};`;
  return new Function("T", "slow", source)(T, parts.slow) as Test;
}
