import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A client library (a CommonJS package) loaded when a component first needs it, not when bspump
 * is imported: `import * as bspump from "bspump"` would otherwise load every connector's client
 * (kafkajs, mysql2, amqplib, … ~30 MB RSS and ~120 ms before the first event). Call the returned
 * function where the library is used; the first call loads it, later calls return it.
 */
export function dependency<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
