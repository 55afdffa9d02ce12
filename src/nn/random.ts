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
