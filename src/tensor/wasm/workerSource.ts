/**
 * What each wasm instance is given, and the worker thread's script.
 *
 * The script runs with `eval: true`, so it needs no file of its own: the same source works when gradpipe
 * runs from its TypeScript sources (under vitest) and from `dist/`. It instantiates the shared module on the
 * shared memory, says it is ready, and stays in the module's job loop until told to stop (or terminated).
 * It repeats `hostImports` in plain JavaScript: keep the two alike.
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

// A dynamic import, not require: an eval'd worker inherits the process's flags, and under
// --input-type=module it is an ES module, where require does not exist.
export const WORKER_SOURCE = `
import('node:worker_threads').then(({ parentPort, workerData }) => {
  const { module, memory, tid, gen } = workerData;
  const words = new Int32Array(memory.buffer);
  const env = {
    memory,
    wait: (ptr, value) => void Atomics.wait(words, ptr >>> 2, value),
    notify: (ptr, count) => void Atomics.notify(words, ptr >>> 2, count < 0 ? Infinity : count),
  };
  const instance = new WebAssembly.Instance(module, { env });
  parentPort.postMessage('ready');
  instance.exports.workerLoop(tid, gen);
});
`;
