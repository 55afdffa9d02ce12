/**
 * Seeded randomness. Every random draw in gradpipe comes from a generator made here from an explicit seed;
 * sub-streams (a layer's weights, an epoch's permutation) get their own seed derived from the run seed, so
 * adding a draw in one place never shifts the numbers drawn in another.
 */
import seedrandom from 'seedrandom';

/** A seeded source of uniform draws in [0, 1); make one with `rng`. */
export interface Rng {
  /** Uniform in [0, 1). */
  (): number;
}

/** A generator for `seed` and an optional path of sub-stream names. */
export const rng = (seed: number | string, ...path: readonly (string | number)[]): Rng => {
  const gen = seedrandom.alea([String(seed), ...path.map(String)].join('/'));
  return () => gen.double();
};

/** Standard normal draws (Box-Muller; uses two uniforms per pair). */
export const normal = (r: Rng): (() => number) => {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = r();
    const v = r();
    const mag = Math.sqrt(-2 * Math.log(u));
    spare = mag * Math.sin(2 * Math.PI * v);
    return mag * Math.cos(2 * Math.PI * v);
  };
};

/** An integer in [0, n). */
export const randomInt = (r: Rng, n: number): number => Math.floor(r() * n);

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
export const permutation = (r: Rng, n: number): Uint32Array => {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(r, i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
};

/**
 * A cheap generator for many short streams keyed by whole numbers (an image's (seed, epoch, index), a
 * step's dropout masks): splitmix32 from a murmur3-style hash of the key. Making one costs nothing, a draw
 * a few nanoseconds (a seedrandom generator costs about 20 us to make). Uniform in [0, 1), 32 bits.
 */
export const keyedRng = (...key: readonly number[]): Rng => {
  let h = 0x9e3779b9;
  for (const v of key) {
    // each whole number (up to 2^53) enters as two 32-bit words
    for (const w of [v >>> 0, Math.floor(v / 0x100000000) >>> 0]) {
      h = Math.imul(h ^ w, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  let state = h | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 0x100000000;
  };
};
