/**
 * TensorFlow.js's side of the training benchmark in Node: loading it, choosing its backend, and its matrix
 * products' rates; the training loop itself (`runTf`) is in tfjsStep.ts, shared with the browser bench.
 *
 * Backends: `wasm` (@tensorflow/tfjs-backend-wasm; SIMD when the engine has it; its threaded build needs
 * workers that do not start in Node, so it runs on one thread) and `cpu` (pure JavaScript).
 */
import { createRequire } from 'node:module';

export { runTf } from './tfjsStep.js';

type Tf = typeof import('@tensorflow/tfjs');
export type TfKind = 'wasm' | 'cpu';

let loaded: Promise<Tf | string> | undefined;

/** TensorFlow.js with its WASM backend registered, or why it cannot be loaded. */
const loadTf = (): Promise<Tf | string> =>
  (loaded ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json').replace(/package\.json$/, 'dist/');
      wasm.setWasmPaths(dist);
      return tf;
    } catch (e) {
      return `TensorFlow.js is not installed (${(e as Error).message.split('\n')[0]}); run npm install`;
    }
  })());

/** Switches TensorFlow.js to `kind`; a string says why it is unavailable. */
export const useTf = async (kind: TfKind): Promise<{ tf: Tf; description: string } | string> => {
  const tf = await loadTf();
  if (typeof tf === 'string') return tf;
  if (!(await tf.setBackend(kind))) return `TensorFlow.js could not start its ${kind} backend`;
  await tf.ready();
  const env = tf.env();
  const description =
    kind === 'wasm'
      ? `TensorFlow.js ${tf.version.tfjs} WASM backend (SIMD ${env.getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, threads ${env.getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'available' : 'unavailable in Node: 1 thread'})`
      : `TensorFlow.js ${tf.version.tfjs} pure-JS CPU backend`;
  return { tf, description };
};

/**
 * GFLOP/s of the backend in use for the products of a batch-128 step of 784-1000-10 (the forward one, and
 * the transposed ones its gradients need), median of `rounds` calls each.
 */
export const matMulRates = (tf: Tf, rounds = 20): { readonly label: string; readonly gflops: number }[] => {
  const shapes: { label: string; a: [number, number]; b: [number, number]; ta: boolean; tb: boolean }[] = [
    { label: 'x @ W1 (128x784 @ 784x1000)', a: [128, 784], b: [784, 1000], ta: false, tb: false },
    { label: 'x^T @ dZ (784x128 @ 128x1000, transposeA)', a: [128, 784], b: [128, 1000], ta: true, tb: false },
    { label: 'x @ W^T (128x784 @ 784x1000, transposeB)', a: [128, 784], b: [1000, 784], ta: false, tb: true },
  ];
  return shapes.map(({ label, a, b, ta, tb }) => {
    const x = tf.randomUniform(a, -1, 1, 'float32', 1);
    const y = tf.randomUniform(b, -1, 1, 'float32', 2);
    const once = () => {
      const t = performance.now();
      const c = tf.matMul(x, y, ta, tb);
      c.dataSync();
      c.dispose();
      return performance.now() - t;
    };
    for (let i = 0; i < 3; i++) once();
    const ms = Array.from({ length: rounds }, once).sort((p, q) => p - q)[Math.floor(rounds / 2)]!;
    x.dispose();
    y.dispose();
    return { label, gflops: (2 * 128 * 784 * 1000) / (ms * 1e6) };
  });
};
