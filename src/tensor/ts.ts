/**
 * The plain TypeScript reference backend: a packed, cache-tiled GEMM with a 4x4 register block, generic over
 * Float32Array and Float64Array (accumulating in double precision), and the element-wise reference kernels.
 */
import type { Backend } from './backend.js';
import type { Float } from './matrix.js';
import { activationBackward, biasActivation } from './kernels.js';

const KC = 256; // depth of a packed panel: 4 x KC values of A and KC x 4 of B stay in L1

/** Packs op(A) (m x k) into row panels of 4: panel p holds rows 4p..4p+3 interleaved by k, zero-padded. */
const packA = (trans: boolean, m: number, k: number, a: Float, out: Float64Array): void => {
  const panels = Math.ceil(m / 4);
  for (let p = 0; p < panels; p++) {
    const base = p * 4 * k;
    for (let r = 0; r < 4; r++) {
      const i = p * 4 + r;
      if (i >= m) {
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + r] = 0;
      } else if (trans) {
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + r] = a[kk * m + i]!;
      } else {
        const ai = i * k;
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + r] = a[ai + kk]!;
      }
    }
  }
};

/** Packs op(B) (k x n) into column panels of 4: panel q holds columns 4q..4q+3 interleaved by k. */
const packB = (trans: boolean, n: number, k: number, b: Float, out: Float64Array): void => {
  const panels = Math.ceil(n / 4);
  for (let q = 0; q < panels; q++) {
    const base = q * 4 * k;
    for (let c = 0; c < 4; c++) {
      const j = q * 4 + c;
      if (j >= n) {
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + c] = 0;
      } else if (trans) {
        const bj = j * k;
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + c] = b[bj + kk]!;
      } else {
        for (let kk = 0; kk < k; kk++) out[base + kk * 4 + c] = b[kk * n + j]!;
      }
    }
  }
};

export const gemmTs = <F extends Float>(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: F,
  b: F,
  beta: number,
  c: F,
): void => {
  if (a.length < m * k || b.length < k * n || c.length < m * n) {
    throw new RangeError(`gemm: buffers too small for m=${m} n=${n} k=${k} (a=${a.length} b=${b.length} c=${c.length})`);
  }
  if (beta === 0) c.fill(0, 0, m * n);
  else if (beta !== 1) for (let i = 0; i < m * n; i++) c[i] = beta * c[i]!;
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;

  const pa = new Float64Array(Math.ceil(m / 4) * 4 * k);
  const pb = new Float64Array(Math.ceil(n / 4) * 4 * k);
  packA(transA, m, k, a, pa);
  packB(transB, n, k, b, pb);
  const mp = Math.ceil(m / 4);
  const np = Math.ceil(n / 4);
  // Accumulate each 4x4 block of C over the whole depth in registers (depth blocked by KC for cache reuse
  // of the B panel across A panels), then add alpha * block to C once: one rounding per element.
  const acc = new Float64Array(mp * np * 16);
  for (let k0 = 0; k0 < k; k0 += KC) {
    const k1 = Math.min(k, k0 + KC);
    for (let q = 0; q < np; q++) {
      const bBase = q * 4 * k;
      for (let p = 0; p < mp; p++) {
        const aBase = p * 4 * k;
        const t = (p * np + q) * 16;
        let c00 = acc[t]!, c01 = acc[t + 1]!, c02 = acc[t + 2]!, c03 = acc[t + 3]!;
        let c10 = acc[t + 4]!, c11 = acc[t + 5]!, c12 = acc[t + 6]!, c13 = acc[t + 7]!;
        let c20 = acc[t + 8]!, c21 = acc[t + 9]!, c22 = acc[t + 10]!, c23 = acc[t + 11]!;
        let c30 = acc[t + 12]!, c31 = acc[t + 13]!, c32 = acc[t + 14]!, c33 = acc[t + 15]!;
        for (let kk = k0; kk < k1; kk++) {
          const ao = aBase + kk * 4;
          const bo = bBase + kk * 4;
          const a0 = pa[ao]!, a1 = pa[ao + 1]!, a2 = pa[ao + 2]!, a3 = pa[ao + 3]!;
          const b0 = pb[bo]!, b1 = pb[bo + 1]!, b2 = pb[bo + 2]!, b3 = pb[bo + 3]!;
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        acc[t] = c00; acc[t + 1] = c01; acc[t + 2] = c02; acc[t + 3] = c03;
        acc[t + 4] = c10; acc[t + 5] = c11; acc[t + 6] = c12; acc[t + 7] = c13;
        acc[t + 8] = c20; acc[t + 9] = c21; acc[t + 10] = c22; acc[t + 11] = c23;
        acc[t + 12] = c30; acc[t + 13] = c31; acc[t + 14] = c32; acc[t + 15] = c33;
      }
    }
  }
  for (let p = 0; p < mp; p++) {
    for (let q = 0; q < np; q++) {
      const t = (p * np + q) * 16;
      for (let r = 0; r < 4; r++) {
        const i = p * 4 + r;
        if (i >= m) break;
        for (let s = 0; s < 4; s++) {
          const j = q * 4 + s;
          if (j >= n) break;
          c[i * n + j] = c[i * n + j]! + alpha * acc[t + r * 4 + s]!;
        }
      }
    }
  }
};

export const createTsBackend = (): Backend => ({
  name: 'ts',
  threads: 1,
  description: 'ts: plain TypeScript reference kernels (portable, slow)',
  gemm: gemmTs,
  biasActivation,
  activationBackward,
  dispose: () => undefined,
});
