/**
 * numpy's side of the training benchmark: runs test/bench/numpy_mlp.py with python3 on the same initial
 * weights and the same batches (the example indices of gradpipe's batches), and reads back its timing and
 * trained weights. numpy reads MNIST itself before its clock starts. OpenBLAS environment variables are
 * inherited unchanged, so numpy and gradpipe's native backend run under the same ones; only the thread
 * count may be pinned (OPENBLAS_NUM_THREADS) for the single-thread row.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MNIST_FILES } from '../../src/data/mnistFiles.js';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { LR, MNIST_DIR, type Job, type Measurement } from './common.js';

/** The script sits beside this file's TypeScript source, which dist/ mirrors one level up. */
const SCRIPT = fileURLToPath(new URL('../../../test/bench/numpy_mlp.py', import.meta.url));

const python = process.env['PYTHON'] ?? 'python3';

/** numpy's version, or why it cannot be used. */
export const numpyVersion = (): { version: string } | { skipped: string } => {
  const r = spawnSync(python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) return { skipped: `${python} not found (${r.error.message})` };
  if (r.status !== 0) return { skipped: `numpy is not installed for ${python}` };
  return { version: r.stdout.trim() };
};

/** A scratch folder holding the job's inputs for the script; `dispose` removes it. */
export interface NumpyInputs {
  readonly dir: string;
  dispose(): void;
}

/** Writes the initial weights and the examples of `batches`, in order. */
export const numpyInputs = (initial: Float32Array, batches: readonly LabeledBatch[]): NumpyInputs => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-bench-'));
  const indices = new Uint32Array(batches.reduce((n, b) => n + b.indices.length, 0));
  let o = 0;
  for (const b of batches) {
    indices.set(b.indices, o);
    o += b.indices.length;
  }
  writeFileSync(join(dir, 'weights.f32'), new Uint8Array(initial.buffer, initial.byteOffset, initial.byteLength));
  writeFileSync(join(dir, 'indices.u32'), new Uint8Array(indices.buffer));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
};

/** One run of the script; `threads` pins OpenBLAS's thread count (default: OpenBLAS's own, all cores). */
export const runNumpy = (inputs: NumpyInputs, job: Job, threads?: number): Measurement => {
  const out = join(inputs.dir, 'trained.f32');
  const spec = join(inputs.dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      images: join(MNIST_DIR, `${MNIST_FILES.trainImages}.gz`),
      labels: join(MNIST_DIR, `${MNIST_FILES.trainLabels}.gz`),
      weights: join(inputs.dir, 'weights.f32'),
      indices: join(inputs.dir, 'indices.u32'),
      hidden: job.hidden,
      batch: job.batch,
      warmup: job.warmup / job.batch,
      lr: LR,
      out,
    }),
  );
  const env = threads === undefined ? process.env : { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  const r = spawnSync(python, [SCRIPT, spec], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`numpy_mlp.py failed (${r.status}): ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; samples: number; tailLoss: number; updateSeconds: number; skipped?: string };
  if (res.skipped) throw new Error(res.skipped);
  const bytes = readFileSync(out);
  const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { seconds: res.seconds, samples: res.samples, tailLoss: res.tailLoss, weights, updateSeconds: res.updateSeconds };
};

/**
 * numpy's time to first reach 98% test accuracy, trained as gradpipe's default pipeline is (momentum 0.9,
 * lr 0.1 on a cosine schedule over `epochs`, batch 128; numpy_mlp.py's "to98" mode), from `initial`.
 */
export const numpyTimeTo98 = (
  initial: Float32Array,
  opts: { readonly hidden: number; readonly batch: number; readonly epochs: number; readonly lr: number; readonly momentum: number },
): { seconds: number | undefined; epochs: { epoch: number; seconds: number; testAccuracy: number }[] } => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-bench-to98-'));
  try {
    const weights = join(dir, 'weights.f32');
    writeFileSync(weights, new Uint8Array(initial.buffer, initial.byteOffset, initial.byteLength));
    const spec = join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        mode: 'to98',
        images: join(MNIST_DIR, `${MNIST_FILES.trainImages}.gz`),
        labels: join(MNIST_DIR, `${MNIST_FILES.trainLabels}.gz`),
        testImages: join(MNIST_DIR, `${MNIST_FILES.testImages}.gz`),
        testLabels: join(MNIST_DIR, `${MNIST_FILES.testLabels}.gz`),
        weights,
        seed: 1,
        ...opts,
      }),
    );
    const r = spawnSync(python, [SCRIPT, spec], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`numpy_mlp.py failed (${r.status}): ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { to98Seconds: number | null; epochs: { epoch: number; seconds: number; testAccuracy: number }[] };
    return { seconds: res.to98Seconds ?? undefined, epochs: res.epochs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
