/**
 * Shared pieces of the benchmarks that need Node (the MNIST folder, a timing loop, a digest), and the
 * node-free ones of job.ts (the job, its measurement, the flat network, the job's batches) re-exported.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/dataset.js';
import type { Backend } from '../../src/tensor/backend.js';
import { setBackend } from '../../src/tensor/registry.js';
import { resolveBackend, type BackendChoice } from '../../src/tensor/select.js';

export * from './job.js';

/** The MNIST folder, ../shared/datasets/mnist from the repository root (this file runs from dist/test/bench). */
export const MNIST_DIR = fileURLToPath(new URL('../../../../shared/datasets/mnist/', import.meta.url));

/** Calls `f` back to back for at least `minSeconds`; the wall seconds per call, and how many calls it took. */
export const timeRound = (f: () => void, minSeconds: number): { readonly perCall: number; readonly calls: number } => {
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let dt = 0;
  do {
    f();
    calls++;
    dt = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (dt < minSeconds);
  return { perCall: dt / calls, calls };
};

/** A GEMM the benchmarks time: C (m x n) = op(A) op(B), op(X) = X or its transpose, with a label. */
export interface GemmShape {
  readonly label: string;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** First 12 hex digits of the SHA-256 of the parameters' bytes (bit-identity across thread counts). */
export const digest = (flat: Float32Array): string =>
  createHash('sha256').update(new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength)).digest('hex').slice(0, 12);

/** MNIST and the chosen backend, set as the one in use: what a benchmark script starts with (throws on failure). */
export const benchSetup = async (choice: BackendChoice): Promise<{ readonly data: { readonly train: Dataset; readonly test: Dataset }; readonly backend: Backend }> => {
  const data = await loadMnist(MNIST_DIR);
  if (E.isLeft(data)) throw new Error(data.left.message);
  const resolved = await resolveBackend(choice);
  if (E.isLeft(resolved)) throw new Error(resolved.left.message);
  setBackend(resolved.right.backend);
  return { data: data.right, backend: resolved.right.backend };
};
