/**
 * What each wasm instance is given, and the kernel worker's script.
 *
 * The script is source text run by the platform's `startWorker` (#platform/startWorker.js: a Node worker
 * thread or a Web Worker), so it needs no file of its own: the same source works from the TypeScript
 * sources (under vitest), from `dist/` and in a browser bundle. Its first message brings the shared module
 * and memory; it instantiates the module on them, says it is ready, and stays in the module's job loop
 * until told to stop (or terminated). It repeats `hostImports` in plain JavaScript: keep the two alike.
 */
import type { WasmMemory } from './module.js';

/** The imports of every instance: the shared memory, and sleeping on / waking a word of it. */
export const hostImports = (memory: WasmMemory) => {
  // The control block sits in the first page, which growing the memory never moves: this view stays valid.
  const words = new Int32Array(memory.buffer);
  return {
    env: {
      memory,
      wait: (ptr: number, value: number): void => void Atomics.wait(words, ptr >>> 2, value),
      notify: (ptr: number, count: number): void => void Atomics.notify(words, ptr >>> 2, count < 0 ? Infinity : count),
    },
  };
};

/** Runs after the platform's prelude, which defines `port` (see src/platform/worker.ts). */
export const WORKER_SOURCE = `
port.on(({ module, memory, tid, gen }) => {
  const words = new Int32Array(memory.buffer);
  const env = {
    memory,
    wait: (ptr, value) => void Atomics.wait(words, ptr >>> 2, value),
    notify: (ptr, count) => void Atomics.notify(words, ptr >>> 2, count < 0 ? Infinity : count),
  };
  const instance = new WebAssembly.Instance(module, { env });
  port.post('ready', []);
  instance.exports.workerLoop(tid, gen);
});
`;
