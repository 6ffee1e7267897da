import { StringDecoder } from "node:string_decoder";
import { TextDecoder } from "node:util";
import { ConfigError, textEncodingName } from "../core/index.js";

/**
 * One text encoding, resolved once from an `encoding` config value (the key type validates the
 * name; `textCodec` resolves it). Node's own encodings decode with Buffer/StringDecoder (fast),
 * other WHATWG labels (windows-1250, koi8-r, …) with TextDecoder. Invalid sequences become U+FFFD.
 */
export interface TextCodec {
  /** The canonical name: a Node.js encoding or a WHATWG encoding name. */
  readonly name: string;
  /** Set when Node decodes it natively: Buffer.toString / StringDecoder work with it. */
  readonly node: BufferEncoding | null;
  /**
   * True when a 0x0a byte is always a line end and never part of another character (UTF-8,
   * Latin-1, ASCII, and the single-byte WHATWG encodings): lines may be cut on bytes before decoding.
   */
  readonly lineSafe: boolean;
  /** Decodes a whole buffer (or `bytes[start, end)`). */
  decode(bytes: Uint8Array, start?: number, end?: number): string;
  /** A decoder for a stream of chunks: a character split across chunks is kept for the next one. */
  stream(): TextStream;
}

export interface TextStream {
  write(chunk: Uint8Array): string;
  end(): string;
}

/** Node encodings that are ASCII-compatible byte for byte. */
const NODE_LINE_SAFE = new Set(["utf8", "latin1", "ascii", "binary"]);
/** WHATWG encodings in which a 0x0a byte may be part of another character. */
const WHATWG_NOT_LINE_SAFE = new Set(["utf-16le", "utf-16be", "iso-2022-jp"]);

/**
 * The codec for `name` (an `encoding` key's value; "" = `fallback`). Throws a ConfigError naming
 * `where` for a name no decoder knows, and for "bytes" (callers that accept raw bytes check for it first).
 */
export function textCodec(name: string, where: string, fallback = "utf-8"): TextCodec {
  const given = name.trim() === "" ? fallback : name;
  const canonical = textEncodingName(given);
  if (canonical === null || canonical === "bytes" || canonical === "none") {
    throw new ConfigError(`${where}: unknown encoding '${given}' (use a name such as utf-8, latin1, utf-16le, windows-1250)`);
  }
  if (Buffer.isEncoding(canonical)) return nodeCodec(canonical);
  return whatwgCodec(canonical);
}

/** True when `name` asks for no decoding (raw bytes): "bytes", "none" or, where allowed, "". */
export function isBytes(name: string, emptyMeansBytes = false): boolean {
  const lower = name.trim().toLowerCase();
  return lower === "bytes" || lower === "none" || (emptyMeansBytes && lower === "");
}

function nodeCodec(encoding: BufferEncoding): TextCodec {
  return {
    name: encoding,
    node: encoding,
    lineSafe: NODE_LINE_SAFE.has(encoding),
    decode: (bytes, start = 0, end = bytes.length) => toBuffer(bytes).toString(encoding, start, end),
    stream: () => new StringDecoder(encoding) as TextStream,
  };
}

function whatwgCodec(label: string): TextCodec {
  const decoder = new TextDecoder(label);
  return {
    name: decoder.encoding,
    node: null,
    lineSafe: !WHATWG_NOT_LINE_SAFE.has(decoder.encoding),
    decode: (bytes, start = 0, end = bytes.length) => decoder.decode(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)),
    stream: () => {
      const streaming = new TextDecoder(label);
      return { write: (chunk) => streaming.decode(chunk, { stream: true }), end: () => streaming.decode() };
    },
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
