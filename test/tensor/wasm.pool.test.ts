/**
 * The wasm backend's thread pool and factory: who may take part in a job, errors at creation, dispose(),
 * and the compiled package (dist/) with its eval'd workers.
 */
import * as E from 'fp-ts/lib/Either.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError } from '../../src/errors.js';
import { createWasmBackend } from '../../src/tensor/wasm/index.js';
import { loadWasmModule } from '../../src/tensor/wasm/module.js';
import { startPool } from '../../src/tensor/wasm/pool.js';
import { sameBits, wasm } from './wasm.support.js';

const one = await wasm(1);

describe('the wasm thread pool', () => {
  // White-box: the pool's kernels called directly, to see who took part in a job.
  it('never leaves a job open to workers once it returned, nor lets one into a job for the calling thread alone', async () => {
    const loaded = await loadWasmModule();
    if (E.isLeft(loaded)) throw new Error(formatError(loaded.left));
    const started = await startPool(loaded.right.module, 2);
    if (E.isLeft(started)) throw new Error(formatError(started.left));
    const pool = started.right;
    try {
      // The job on the calling thread alone lasts milliseconds, far longer than a worker takes to wake up.
      const [rows, cols, sigmoid] = [1024, 1000, 3];
      const [z, bias, small] = pool.layout([rows * cols * 4, cols * 4, 4096]) as [number, number, number];
      const input = Float32Array.from({ length: rows * cols }, (_, i) => (i % 7) - 3);
      const activate = (nt: number): Float32Array => {
        pool.heap().set(input, z / 4);
        pool.kernels.biasActivation(nt, 0, z, bias, rows, cols, sigmoid, z);
        return pool.heap().slice(z / 4, z / 4 + rows * cols);
      };
      const want = activate(1); // before any job woke the worker
      let intruded = 0, wrong = 0, leftOpen = 0, joinedBig = 0;
      for (let r = 0; r < 20; r++) {
        // A tiny job offered to the worker with no polling: often over before the worker is awake, which
        // then arrives while the next job, on the calling thread alone, runs.
        pool.kernels.gemm(2, 0, 0, 0, 4, 4, 4, 0, 1, 0, small, small + 256, small + 512, small + 1024, small + 2048, 0, 0);
        leftOpen += pool.kernels.jobOpen();
        const got = activate(1);
        leftOpen += pool.kernels.jobOpen();
        intruded += pool.kernels.lastJoined();
        if (!sameBits(got, want)) wrong++;
      }
      for (let r = 0; r < 10; r++) {
        pool.kernels.biasActivation(2, 1 << 18, z, bias, rows, cols, sigmoid, z);
        joinedBig += pool.kernels.lastJoined();
      }
      expect({ intruded, wrong, leftOpen }).toEqual({ intruded: 0, wrong: 0, leftOpen: 0 });
      expect(joinedBig).toBeGreaterThan(0);
    } finally {
      pool.dispose();
    }
  });
});

describe('creating the wasm backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-wasm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a thread count that is not an integer from 1 to 64, naming the threads field', async () => {
    for (const threads of [0, -1, 1.5, 65, Number.NaN]) {
      const b = await createWasmBackend({ threads });
      expect(E.isLeft(b) && b.left._tag === 'OptionError' && b.left.where === 'threads').toBe(true);
    }
  });

  it('is a Left saying how to build the kernels when gradpipe.wasm is missing', async () => {
    const r = await loadWasmModule([join(dir, 'none', 'gradpipe.wasm')]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/have not been built.*npm run build/);
  });

  it('is a Left naming the file when it is not a module this engine can compile', async () => {
    const bogus = join(dir, 'bogus.wasm');
    writeFileSync(bogus, 'not wasm');
    const r = await loadWasmModule([bogus]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/bogus\.wasm: this JavaScript engine cannot compile/);
  });

  it('throws on use after dispose()', async () => {
    const b = await wasm(2);
    b.dispose();
    b.dispose();
    expect(() => b.gemm(false, false, 1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1))).toThrow(/after dispose/);
  });

  // From the compiled package (dist/, as `npm ci` builds it): the eval'd workers run there too, the result
  // matches this process's bit for bit, and the process ends without dispose() (the workers are unref()'d).
  it('runs from dist/ and lets the process exit without dispose()', () => {
    const entry = fileURLToPath(new URL('../../dist/src/tensor/wasm/index.js', import.meta.url));
    expect(existsSync(entry) ? 'built' : `${entry} is missing: run npm run build`).toBe('built');
    const [m, n, k] = [64, 100, 80];
    const fill = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(0.37 * i + seed));
    const script = `
      import { createTunedWasmBackend, DEFAULT_TUNING } from ${JSON.stringify(pathToFileURL(entry).href)};
      const b = await createTunedWasmBackend({ threads: 2 }, { ...DEFAULT_TUNING, parallelGemmFlops: 0 });
      if (b._tag === 'Left') throw new Error(JSON.stringify(b.left));
      const fill = ${fill.toString()};
      const c = new Float32Array(${m * n});
      b.right.gemm(false, true, ${m}, ${n}, ${k}, 1, fill(${m * k}, 5), fill(${n * k}, 6), 0, c);
      process.stdout.write(Buffer.from(c.buffer).toString('base64'));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const c = new Float32Array(m * n);
    one.gemm(false, true, m, n, k, 1, fill(m * k, 5), fill(n * k, 6), 0, c);
    expect(sameBits(new Float32Array(Uint8Array.from(Buffer.from(out, 'base64')).buffer), c)).toBe(true);
  });
});
