import { describeType } from "./StdJsonToDictParser.js";

/** Entries of an object or a Map; anything else is an error naming the component. */
export function entriesOf(event: unknown, component: string): [unknown, unknown][] {
  if (event instanceof Map) return [...event.entries()];
  if (typeof event === "object" && event !== null && !Array.isArray(event)) return Object.entries(event);
  throw new TypeError(`${component} expects an object or a Map, got ${describeType(event)}`);
}
