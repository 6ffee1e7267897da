/** Dotted field paths (`client.ip`) read and written without allocation for plain names. */
export type FieldPath = string | readonly string[];

export function compilePath(path: string): FieldPath {
  return path.includes(".") ? path.split(".") : path;
}

export function getField(event: unknown, path: FieldPath): unknown {
  if (typeof event !== "object" || event === null) return undefined;
  if (typeof path === "string") return (event as Record<string, unknown>)[path];
  let cur: unknown = event;
  for (const part of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Sets the field, creating intermediate objects; false when the event is not an object. */
export function setField(event: unknown, path: FieldPath, value: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  if (typeof path === "string") {
    (event as Record<string, unknown>)[path] = value;
    return true;
  }
  let cur = event as Record<string, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    let next = cur[path[i]!];
    if (typeof next !== "object" || next === null) {
      next = {};
      cur[path[i]!] = next;
    }
    cur = next as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
  return true;
}
