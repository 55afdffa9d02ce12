/**
 * Finding and compiling `gradpipe.wasm`, built from `assembly/` by `npm run build:wasm` into `dist/wasm/`.
 * From the TypeScript sources (`src/tensor/wasm/`) and from the compiled ones (`dist/src/tensor/wasm/`) the
 * repository root and `dist/` are three levels up, so both places are looked at.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gradpipeError, type GradpipeError } from '../../errors.js';

/**
 * The slice of the WebAssembly JS API used here. Node has it all, but this project's lib settings (ES2023,
 * no DOM) and @types/node 20 do not declare it, so it is typed locally rather than globally.
 */
export interface WasmModule {
  readonly __brand: 'WebAssembly.Module';
}
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Instance: new (module: WasmModule, imports: { env: { memory: WasmMemory } & Record<string, unknown> }) => { exports: unknown };
}
export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The module's exports (see assembly/index.ts); pointers are byte offsets into the shared memory. */
export interface WasmKernels {
  ctrlBase(): number;
  arenaBase(): number;
  maxThreads(): number;
  lastJoined(): number;
  jobOpen(): number;
  gemm(
    nt: number, spin: number, transA: number, transB: number, m: number, n: number, k: number, mode: number,
    alpha: number, beta: number, a: number, b: number, c: number, pa: number, pb: number,
  ): void;
  biasActivation(nt: number, spin: number, z: number, bias: number, rows: number, cols: number, act: number, out: number): void;
  activationBackward(nt: number, spin: number, delta: number, a: number, n: number, act: number, out: number): void;
  updateBlock(): number;
  optimizerUpdate(
    nt: number, spin: number, kind: number, n: number, w: number, g: number, v: number, s: number, parts: number,
    clip: number, decay: number, lr: number, mu: number, b1: number, b2: number, c1: number, c2: number, eps: number,
  ): number;
  stopWorkers(nt: number): void;
  workerLoop(tid: number, gen: number): void;
}

/** Pages of 64 KiB the shared memory may grow to (the wasm32 limit, 4 GiB; only touched pages cost). */
export const MAX_PAGES = 65536;

const CANDIDATES = ['../../../wasm/gradpipe.wasm', '../../../dist/wasm/gradpipe.wasm'];

/** Where gradpipe.wasm is looked for, in order. */
export const wasmPaths = (): readonly string[] => CANDIDATES.map((rel) => fileURLToPath(new URL(rel, import.meta.url)));

const BUILD_HINT = 'run `npm run build` (it compiles src/tensor/wasm/assembly with AssemblyScript), or use --backend ts';

/** The compiled module and the file it came from (the first of `paths` that exists); `Left` when none exists or this engine rejects it. */
export const loadWasmModule = async (
  paths: readonly string[] = wasmPaths(),
): Promise<E.Either<GradpipeError, { module: WasmModule; path: string }>> => {
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      continue;
    }
    try {
      return E.right({ module: await webAssembly.compile(bytes), path });
    } catch (e) {
      return E.left(
        gradpipeError(
          'IOError',
          path,
          `this JavaScript engine cannot compile the wasm kernels (WebAssembly SIMD and threads are needed): ${String(e)}`,
          `use Node >= 20; if the file is stale, ${BUILD_HINT}`,
        ),
      );
    }
  }
  return E.left(gradpipeError('IOError', paths.join(' or '), 'the wasm kernels have not been built', BUILD_HINT));
};
