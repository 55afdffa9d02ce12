/**
 * The wasm runtime: one shared `WebAssembly.Memory`, the calling thread's instance, and `threads - 1` worker
 * threads, each with its own instance on the same memory, parked in the module's job loop.
 *
 * A job runs synchronously: the calling thread writes its parameters into the control block, wakes the
 * workers through an atomic counter (Atomics on the shared memory), claims blocks of work alongside those
 * that join, and waits for them (Atomics.wait is allowed on Node's main thread); see assembly/sync.ts.
 * Workers are started through the platform seam (#platform/startWorker.js: worker threads in Node, Web
 * Workers in a browser, where the calling thread must itself be a worker: a page's main thread may not
 * Atomics.wait). In Node they are unref()'d once ready, so they never keep the process alive.
 */
import * as E from 'fp-ts/lib/Either.js';
import { startWorker as startPlatformWorker } from '#platform/startWorker.js';
import type { WorkerPort } from '../../platform/worker.js';
import { gradpipeError, type GradpipeError } from '../../errors.js';
import { MAX_PAGES, webAssembly, type WasmKernels, type WasmMemory, type WasmModule } from './module.js';
import { hostImports, WORKER_SOURCE } from './workerSource.js';

const PAGE = 65536;
const ALIGN = 64;

export interface WasmPool {
  readonly kernels: WasmKernels;
  readonly threads: number;
  /**
   * Lays out buffers of the given byte sizes in the arena (64-byte aligned, growing the memory when needed)
   * and returns their byte offsets; the previous job's buffers are given up.
   */
  layout(bytes: readonly number[]): number[];
  /**
   * A region of `bytes` (64-byte aligned) that stays put between jobs, below the arena (which moves up to
   * make room); kernels use it in place. `release` gives it back for a later `reserve` of the same size.
   */
  reserve(bytes: number): number;
  release(offset: number, bytes: number): void;
  /** True when `a` is a view of this pool's memory (of the buffer before or after any growth). */
  owns(a: Float32Array): boolean;
  /** A Float32Array over the whole memory, valid until the next `layout`. */
  heap(): Float32Array;
  /** Stops and terminates the workers. */
  dispose(): void;
}

const align = (x: number): number => Math.ceil(x / ALIGN) * ALIGN;

const startWorker = (module: WasmModule, memory: WasmMemory, tid: number, gen: number): Promise<E.Either<string, WorkerPort>> =>
  new Promise((resolve) => {
    let port: WorkerPort;
    try {
      port = startPlatformWorker(WORKER_SOURCE);
    } catch (e) {
      resolve(E.left(String(e)));
      return;
    }
    port.busy(true); // until it is ready: the caller awaits it
    port.onFailure((e) => {
      port.terminate();
      resolve(E.left(e.message));
    });
    port.onMessage(() => {
      // A worker that dies later (it should not: the kernels do not trap on laid-out buffers) must not take
      // the process down.
      port.onFailure(() => undefined);
      port.busy(false);
      resolve(E.right(port));
    });
    port.post({ module, memory, tid, gen }, []);
  });

/** Starts the memory, the calling thread's instance and `threads - 1` workers. */
export const startPool = async (module: WasmModule, threads: number): Promise<E.Either<GradpipeError, WasmPool>> => {
  let memory: WasmMemory;
  let kernels: WasmKernels;
  try {
    memory = new webAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    kernels = new webAssembly.Instance(module, hostImports(memory)).exports as unknown as WasmKernels;
  } catch (e) {
    return E.left(gradpipeError('IOError', 'wasm backend', `cannot set up the shared wasm memory: ${String(e)}`, 'use --backend ts'));
  }
  const started = await Promise.all(Array.from({ length: threads - 1 }, (_, i) => startWorker(module, memory, i + 1, 0)));
  const workers = started.flatMap((w) => (E.isRight(w) ? [w.right] : []));
  const failed = started.find(E.isLeft);
  if (failed !== undefined) {
    for (const w of workers) w.terminate();
    return E.left(
      gradpipeError('IOError', 'wasm backend', `a worker thread failed to start: ${failed.left}`, 'use --threads 1 or --backend ts'),
    );
  }

  // [arenaBase, top): reserved regions; [top, ...): the current job's scratch
  let top = kernels.arenaBase();
  const free = new Map<number, number[]>();
  // a shared memory is never detached: views of the buffer from before a growth stay valid
  const buffers = new WeakSet<ArrayBufferLike>([memory.buffer]);
  let view = new Float32Array(memory.buffer);
  let disposed = false;
  const ensure = (end: number, what: string): void => {
    const have = memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new RangeError(`wasm backend: ${what} needs ${Math.ceil(end / 2 ** 20)} MiB, over the 4 GiB of wasm memory`);
    }
    memory.grow(pages);
    view = new Float32Array(memory.buffer);
    buffers.add(memory.buffer);
  };
  const live = (): void => {
    if (disposed) throw new Error('wasm backend: used after dispose()');
  };
  return E.right({
    kernels,
    threads,
    layout: (bytes) => {
      live();
      const offsets: number[] = [];
      let end = top;
      for (const b of bytes) {
        offsets.push(end);
        end = align(end + b);
      }
      ensure(end, 'a job');
      return offsets;
    },
    reserve: (bytes) => {
      live();
      const size = align(Math.max(bytes, 1));
      const reused = free.get(size)?.pop();
      if (reused !== undefined) return reused;
      const at = top;
      ensure(at + size, 'a buffer');
      top = at + size;
      return at;
    },
    release: (offset, bytes) => {
      const size = align(Math.max(bytes, 1));
      const list = free.get(size);
      if (list) list.push(offset);
      else free.set(size, [offset]);
    },
    owns: (a) => buffers.has(a.buffer),
    heap: () => view,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      if (threads > 1) kernels.stopWorkers(threads);
      for (const w of workers) w.terminate();
    },
  });
};
