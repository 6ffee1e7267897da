export { RandomSource, type RandomSourceOptions } from "./RandomSource.js";
export { RandomEnricher, type RandomEnricherOptions } from "./RandomEnricher.js";
export { RandomDrop } from "./RandomDrop.js";
export { makeRandom, randint } from "./prng.js";
