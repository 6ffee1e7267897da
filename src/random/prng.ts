/** A small seedable PRNG (mulberry32): repeatable test data; `seed` 0 means Math.random. */
export function makeRandom(seed: number): () => number {
  if (seed === 0) return Math.random;
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lower, upper], both inclusive (Python's randint). */
export function randint(random: () => number, lower: number, upper: number): number {
  return lower + Math.floor(random() * (upper - lower + 1));
}
