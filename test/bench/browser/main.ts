/** The browser bench's page: `bench(request)` runs one system in a fresh Worker and resolves with its answer. */
import type { BenchAnswer, BenchRequest } from './protocol.js';

(globalThis as unknown as { bench: (r: BenchRequest) => Promise<BenchAnswer> }).bench = (r) =>
  new Promise((resolve) => {
    const w = new Worker('/app/worker.js', { type: 'module' });
    w.addEventListener('message', (e: MessageEvent<BenchAnswer>) => {
      w.terminate();
      resolve(e.data);
    });
    w.addEventListener('error', (e) => {
      w.terminate();
      resolve({ ok: false, message: e.message });
    });
    w.postMessage(r);
  });
document.body.dataset['state'] = 'ready';
