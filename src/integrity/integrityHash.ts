/**
 * The one integrity algorithm, shared by IntegrityEnricher, IntegrityVerifier and `bsintegrity`:
 * an event's hash is the hex digest (`algorithm`, a Python hashlib name) of the UTF-8 bytes of
 * Python's `json.dumps(event)` — the event without its `hash_key`, in its key order, with the salt
 * `_s` and the previous event's hash under `prev_hash_key` in it. This is what BSPump's
 * IntegrityEnricher computes, so a chain made by BSPump verifies here and the other way round.
 * (BSPump's own checker hashed sorted key/value strings into base64, which matched nothing the
 * enricher wrote.)
 */
import { createHash } from "node:crypto";
import { ConfigError, type ConfigSpec } from "../core/index.js";
import { pythonJsonDumps } from "../codec/json.js";

export const INTEGRITY_CONFIG = {
  // Any hashlib name, any case ("SHA256", "sha3_256", "blake2b"), so checked by integrityDigest() rather than `choices`.
  algorithm: { type: "string", default: "SHA256", doc: "Python hashlib name of the hash (SHA256, SHA512, SHA3_256, BLAKE2B, MD5, …; any case)" },
  hash_key: { type: "string", default: "_id", doc: "Field that holds the event's hash (with an Elasticsearch sink, `_id` becomes the document id)" },
  prev_hash_key: { type: "string", default: "_prev_id", doc: "Field that holds the previous event's hash (absent in the first event of a chain)" },
} satisfies ConfigSpec;

/** Python hashlib names → node:crypto (OpenSSL) names; the full-size BLAKE2 is hashlib's default. */
const HASHLIB_NAMES: Readonly<Record<string, string>> = {
  md5: "md5",
  sha1: "sha1",
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
  sha512_224: "sha512-224",
  sha512_256: "sha512-256",
  sha3_224: "sha3-224",
  sha3_256: "sha3-256",
  sha3_384: "sha3-384",
  sha3_512: "sha3-512",
  blake2b: "blake2b512",
  blake2s: "blake2s256",
  sm3: "sm3",
  ripemd160: "ripemd160",
};

/** The hashlib names `algorithm` accepts (shake_* are left out: their hexdigest needs a length). */
export const INTEGRITY_ALGORITHMS: readonly string[] = Object.keys(HASHLIB_NAMES);

/** text → hex digest. */
export type IntegrityDigest = (text: string) => string;

/**
 * The digest `algorithm` names (hashlib's names, any case; OpenSSL's `sha3-256` spelling too).
 * An unknown name is a ConfigError starting with `where` (the config's `file:line: [section] key`).
 */
export function integrityDigest(algorithm: string, where: string): IntegrityDigest {
  const name = algorithm.trim().toLowerCase();
  const node = HASHLIB_NAMES[name] ?? (Object.values(HASHLIB_NAMES).includes(name) ? name : undefined);
  if (node === undefined) throw new ConfigError(`${where}: unknown hash algorithm '${algorithm}' (one of ${INTEGRITY_ALGORITHMS.join(", ")})`);
  try {
    createHash(node);
  } catch {
    throw new ConfigError(`${where}: hash algorithm '${algorithm}' is not available in this Node.js build`);
  }
  return (text) => createHash(node).update(text, "utf8").digest("hex");
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * Replaces bytes values (Buffer, Uint8Array) in `value`, at any depth, by their standard base64
 * text, in place; returns the value (a bytes value itself becomes its base64 string). BSPump's
 * enricher crashed on bytes (`json.dumps` refuses them); base64 is what its unused `orjson_default`
 * helper wrote, and it is what a sink writes after this, so the stored event hashes the same.
 */
export function bytesToBase64(value: unknown): unknown {
  if (isBytes(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (isBytes(value[i]) || (typeof value[i] === "object" && value[i] !== null)) value[i] = bytesToBase64(value[i]);
  } else if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const v = record[key];
      if (typeof v === "object" && v !== null) record[key] = bytesToBase64(v);
    }
  }
  return value;
}

/**
 * The text that is hashed: `json.dumps` of the event without `hashKey` (the other keys in their
 * order). Throws a TypeError when the event cannot be written as JSON.
 */
export function integrityText(event: Record<string, unknown>, hashKey: string): string {
  let subject = event;
  if (Object.prototype.hasOwnProperty.call(event, hashKey)) {
    subject = { ...event };
    delete subject[hashKey];
  }
  const text = pythonJsonDumps(subject);
  if (text === undefined) throw new TypeError("the event cannot be written as JSON");
  return text;
}

/** A plain object (a dict event), not an array, bytes or null. */
export function isRecord(event: unknown): event is Record<string, unknown> {
  return typeof event === "object" && event !== null && !Array.isArray(event) && !isBytes(event);
}
