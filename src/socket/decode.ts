import { TextDecoder } from "node:util";
import { ConfigError } from "../core/index.js";

/** Turns a line (bytes) into the event: a string in the configured codec, or the bytes themselves. */
export type LineDecoder = ((bytes: Buffer) => string) | null;

/**
 * `decode` config → decoder. `bytes` or an empty value mean no decoding (BSPump crashed on `''`
 * [BUG]); Node's own encodings decode with Buffer.toString, other WHATWG labels with TextDecoder.
 * Invalid sequences become U+FFFD (BSPump used `backslashreplace`).
 */
export function lineDecoder(decode: string, where: string): LineDecoder {
  const name = decode.trim().toLowerCase();
  if (name === "" || name === "bytes" || name === "none") return null;
  const nodeName = name === "utf-8" ? "utf8" : name === "latin-1" || name === "iso-8859-1" ? "latin1" : name;
  if (Buffer.isEncoding(nodeName)) {
    const enc = nodeName;
    return (bytes) => bytes.toString(enc);
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(name);
  } catch {
    throw new ConfigError(`${where}: unknown encoding '${decode}' (use a codec name, or 'bytes' for no decoding)`);
  }
  return (bytes) => decoder.decode(bytes);
}

/** The Node.js encoding for `decode` when Buffer/StringDecoder handle it (the fast text path), else null. */
export function nodeEncoding(decode: string): BufferEncoding | null {
  const name = decode.trim().toLowerCase();
  if (name === "" || name === "bytes" || name === "none") return null;
  const nodeName = name === "utf-8" ? "utf8" : name === "latin-1" || name === "iso-8859-1" ? "latin1" : name;
  // Only encodings in which a '\n' byte is always a newline character.
  return nodeName === "utf8" || nodeName === "latin1" || nodeName === "ascii" ? nodeName : null;
}
