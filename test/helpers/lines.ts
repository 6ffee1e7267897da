import { existsSync, readFileSync } from "node:fs";

/**
 * The complete lines of a file another process is writing (a missing file: none). The text after
 * the last newline is not a record yet: the writer may be between two writes, or SIGKILLed in one.
 */
export function completeLines(file: string, encoding: BufferEncoding = "utf8"): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, encoding);
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
}

/** How many complete lines a file another process is writing has (a missing file: 0), without decoding it. */
export function countCompleteLines(file: string): number {
  if (!existsSync(file)) return 0;
  const bytes = readFileSync(file);
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}
