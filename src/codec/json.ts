/** What `parseJSONLine` returns for an empty line: no value (NDJSON readers skip and count it). */
export const NO_VALUE: unique symbol = Symbol("bspump.codec.NO_VALUE");

/**
 * One NDJSON line → its value; NO_VALUE for an empty line; throws (a SyntaxError) on anything else
 * that is not JSON, a line of only spaces included (it is not empty: bad input, reported). The one
 * NDJSON rule of FileJSONSource (`lines`) and WebServiceSource (`ndjson`).
 */
export function parseJSONLine(line: string): unknown {
  return line.length === 0 ? NO_VALUE : JSON.parse(line);
}
