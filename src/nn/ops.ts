/**
 * The kernels a network's float type runs on: float32 goes to the backend in use, float64 (checks and
 * references) to the TypeScript reference kernels.
 */
import type { Backend } from '../tensor/backend.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../tensor/kernels.js';
import type { Float } from '../tensor/matrix.js';
import { getBackend } from '../tensor/registry.js';
import { gemmTs } from '../tensor/ts.js';

export interface Ops<F extends Float> {
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: F, b: F, beta: number, c: F): void;
  biasActivation(z: F, bias: F, rows: number, cols: number, act: PointwiseActivation, out: F): void;
  /** Optional: `biasActivation` with absRange(out) written into `range`, in the kernel's epilogue (see Backend). */
  biasActivationRange?(z: F, bias: F, rows: number, cols: number, act: PointwiseActivation, out: F, range: Float64Array): void;
  activationBackward(delta: F, a: F, act: PointwiseActivation, out: F): void;
  /** Optional: columnSumsInto's bits in the backend's kernels (see Backend). */
  columnSums?(x: F, rows: number, cols: number, out: F): void;
}

const reference: Ops<Float> = { gemm: gemmTs, biasActivation, activationBackward };

/** The kernels for buffers like `sample`; float32 uses `backend` (default: the one in use). */
export const opsFor = <F extends Float>(sample: F, backend?: Backend): Ops<F> =>
  (sample instanceof Float64Array ? reference : (backend ?? getBackend())) as unknown as Ops<F>;
