/**
 * Finding and compiling the kernels, built from `assembly/` by `npm run build:wasm` into `dist/wasm/` twice:
 * `gradpipe.wasm` (WebAssembly SIMD) and `gradpipe-relaxed.wasm` (the same, with the GEMM micro-kernel's
 * multiply-adds fused through relaxed SIMD).
 *
 * Each build is named by `new URL('<literal path>', import.meta.url)`, the form that webpack, Vite, rolldown
 * and Parcel recognise and copy into a bundle. In order:
 * 1. `../../../wasm/` from here: `dist/wasm/` seen from the compiled module (`dist/src/tensor/wasm/`);
 * 2. `../../../dist/wasm/`: the same folder seen from the TypeScript sources (vitest);
 * 3. the package export `gradpipe/wasm/<file>`, for bundlers that copy no assets (esbuild): a bundle run in
 *    a project where gradpipe is installed finds the installed builds.
 * Reading bytes and setting engine flags go through `#platform/wasm.js` (Node's or a browser's, see src/platform/).
 */
import * as E from 'fp-ts/lib/Either.js';
import { gradpipeError, type GradpipeError } from '../../errors.js';
import { packageAsset, readBytes, setEngineFlag } from '#platform/wasm.js';

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
  validate(bytes: Uint8Array): boolean;
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
    alpha: number, beta: number, a: number, b: number, c: number, pa: number, pb: number, la: number, lb: number,
  ): void;
  biasActivation(nt: number, spin: number, z: number, bias: number, rows: number, cols: number, act: number, out: number): void;
  /** absRange's two bit patterns over n float32 values at x: the largest in the high word (absent from builds before it). */
  absRangeBits?(x: number, n: number): bigint;
  activationBackward(nt: number, spin: number, delta: number, a: number, n: number, act: number, out: number): void;
  /** columnSumsInto's bits for rows x cols float32 at x, into out (absent from builds before it). */
  columnSums?(x: number, rows: number, cols: number, out: number): void;
  /** scaleBytes's bits for n bytes at src into float32 at out (absent from builds before it). */
  scaleBytes?(src: number, n: number, out: number): void;
  updateBlock(): number;
  optimizerUpdate(
    nt: number, spin: number, kind: number, n: number, w: number, g: number, v: number, s: number,
    w2: number, v2: number, s2: number, parts: number, clip: number, decay: number, lr: number, mu: number, b1: number, b2: number, c1: number, c2: number, eps: number,
  ): number;
  stopWorkers(nt: number): void;
  workerLoop(tid: number, gen: number): void;
}

/** Pages of 64 KiB the shared memory may grow to (the wasm32 limit, 4 GiB; only touched pages cost). */
export const MAX_PAGES = 65536;

/** The plain SIMD build, and the relaxed-SIMD build of the same source. */
export const PLAIN_WASM = 'gradpipe.wasm';
export const RELAXED_WASM = 'gradpipe-relaxed.wasm';

/** Where a build (`PLAIN_WASM` by default) is looked for, in order (see the module comment). */
export const wasmPaths = (file: typeof PLAIN_WASM | typeof RELAXED_WASM = PLAIN_WASM): readonly URL[] => {
  // literal paths, one per build: a bundler only follows `new URL` of a string literal
  const local =
    file === PLAIN_WASM
      ? [new URL('../../../wasm/gradpipe.wasm', import.meta.url), new URL('../../../dist/wasm/gradpipe.wasm', import.meta.url)]
      : [new URL('../../../wasm/gradpipe-relaxed.wasm', import.meta.url), new URL('../../../dist/wasm/gradpipe-relaxed.wasm', import.meta.url)];
  const installed = packageAsset(file);
  return installed === undefined ? local : [...local, installed];
};

/** Node 20's V8 (11.3) has relaxed SIMD behind this flag; from V8 11.4 (Node 22) it is on by default. */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

/**
 * Whether this engine accepts `bytes` (a module using relaxed SIMD), after turning the V8 flag on for the
 * whole process if it does not at first. Flags are read when a module is validated, so setting one at run
 * time works for modules compiled afterwards, and worker threads share the process's flags.
 */
export const acceptRelaxedSimd = (bytes: Uint8Array): boolean => {
  if (webAssembly.validate(bytes)) return true;
  setEngineFlag(RELAXED_FLAG);
  return webAssembly.validate(bytes);
};

const BUILD_HINT = 'run `npm run build` (it compiles src/tensor/wasm/assembly with AssemblyScript), or use --backend ts';

/** The first of `paths` that can be read, with its bytes; undefined when none can. */
const readFirst = async (paths: readonly (URL | string)[]): Promise<{ path: string; bytes: Uint8Array } | undefined> => {
  for (const url of paths) {
    try {
      return { path: shown(url), bytes: await readBytes(url) };
    } catch {
      continue;
    }
  }
  return undefined;
};

/** A file: URL as a path, any other as itself. */
const shown = (url: URL | string): string =>
  typeof url === 'string' ? url : url.protocol === 'file:' ? decodeURIComponent(url.pathname) : url.href;

const compileFile = async (path: string, bytes: Uint8Array): Promise<E.Either<GradpipeError, { module: WasmModule; path: string }>> => {
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
};

/** The compiled module and the file it came from (the first of `paths` that exists); `Left` when none exists or this engine rejects it. */
export const loadWasmModule = async (
  paths: readonly (URL | string)[] = wasmPaths(),
): Promise<E.Either<GradpipeError, { module: WasmModule; path: string }>> => {
  const file = await readFirst(paths);
  if (file === undefined) return E.left(gradpipeError('IOError', paths.map(shown).join(' or '), 'the wasm kernels have not been built', BUILD_HINT));
  return compileFile(file.path, file.bytes);
};

/**
 * The relaxed-SIMD build compiled, and the file it came from (the first of `paths` that exists); `Left` when
 * none exists or this engine does not accept relaxed SIMD even with the flag on (callers use the plain build).
 */
export const loadRelaxedWasmModule = async (
  paths: readonly (URL | string)[] = wasmPaths(RELAXED_WASM),
): Promise<E.Either<GradpipeError, { module: WasmModule; path: string }>> => {
  const file = await readFirst(paths);
  if (file === undefined) {
    return E.left(gradpipeError('IOError', paths.map(shown).join(' or '), 'the relaxed-SIMD wasm kernels have not been built', BUILD_HINT));
  }
  if (!acceptRelaxedSimd(file.bytes)) {
    return E.left(
      gradpipeError('IOError', file.path, `this JavaScript engine does not accept relaxed SIMD, even with ${RELAXED_FLAG}`, 'the plain SIMD build serves instead'),
    );
  }
  return compileFile(file.path, file.bytes);
};
