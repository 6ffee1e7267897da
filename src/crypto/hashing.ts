// What HashingProcessor and CoHashingProcessor share: BSPump's HashingBaseProcessor.
import { createHash } from "node:crypto";
import { ConfigError, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { blake2b, blake2s } from "./blake2.js";

export const HASHING_ALGORITHMS = ["SHA224", "SHA256", "SHA384", "SHA512", "SHA1", "MD5", "BLAKE2B", "BLAKE2S"] as const;

export const HASHING_CONFIG = {
  // Case-insensitive as in BSPump ("sha256", "SHA256"), so checked by `hasher()` rather than `choices`.
  algorithm: { type: "string", default: "sha256", doc: `One of ${HASHING_ALGORITHMS.join(", ")} (any case)` },
  digest_size: { type: "int", default: 64, doc: "BLAKE2 only: digest bytes (BLAKE2B 1–64; BLAKE2S 1–32, its default 32)" },
} satisfies ConfigSpec;

export type HashingConfig = TypedConfig<typeof HASHING_CONFIG>;

/** bytes → digest bytes. */
export type Hasher = (data: Uint8Array) => Buffer;

const NODE_NAMES: Readonly<Record<string, string>> = { SHA224: "sha224", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512", SHA1: "sha1", MD5: "md5" };

/** The hash function the config names; an unknown algorithm or digest size is a ConfigError. */
export function hasher(config: HashingConfig): Hasher {
  const given = config.getString("algorithm");
  const algorithm = given.trim().toUpperCase();
  const node = NODE_NAMES[algorithm];
  if (node !== undefined) return (data) => createHash(node).update(data).digest();
  if (algorithm === "BLAKE2B" || algorithm === "BLAKE2S") {
    const max = algorithm === "BLAKE2B" ? 64 : 32;
    // The shared default (64) is BLAKE2B's full size; for BLAKE2S the default is its full size, 32.
    const size = config.isDefault("digest_size") ? max : config.getInt("digest_size");
    if (size < 1 || size > max) throw new ConfigError(`[${config.section}] key 'digest_size': ${algorithm} digests are 1–${max} bytes, got ${size}`);
    // OpenSSL (node:crypto) has only the full sizes; a shorter BLAKE2 digest is computed differently, not truncated.
    if (size === max) {
      const name = algorithm === "BLAKE2B" ? "blake2b512" : "blake2s256";
      return (data) => createHash(name).update(data).digest();
    }
    return algorithm === "BLAKE2B" ? (data) => blake2b(data, size) : (data) => blake2s(data, size);
  }
  throw new ConfigError(`[${config.section}] key 'algorithm': unknown hashing algorithm '${given}' (one of ${HASHING_ALGORITHMS.join(", ")})`);
}
