export * from "./EncryptAESProcessor.js";
export * from "./DecryptAESProcessor.js";
export * from "./HashingProcessor.js";
export * from "./CoHashingProcessor.js";
export { blake2b, blake2s } from "./blake2.js";
export { HASHING_ALGORITHMS } from "./hashing.js";
