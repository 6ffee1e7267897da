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
