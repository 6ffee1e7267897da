export { IntegrityEnricher } from "./IntegrityEnricher.js";
export { IntegrityError, IntegrityVerifier, type IntegrityFailure } from "./IntegrityVerifier.js";
export { bytesToBase64, INTEGRITY_ALGORITHMS, INTEGRITY_CONFIG, integrityDigest, integrityText, type IntegrityDigest } from "./integrityHash.js";
export { describeFinding, IntegrityChainCheck, type ChainFinding, type ChainReport } from "./integrityChain.js";
export { dumpsOrdered, JsonNumber, OrderedObject, parseOrdered, type OrderedValue } from "./orderedJson.js";
