/**
 * A browser's `StartWorker` (see ../worker.ts; ../startWorker.ts is Node's): a dedicated Web Worker running
 * the source from a Blob URL, after a prelude that defines `port` over `self`. A worker of a cross-origin
 * isolated page (or of a worker in one) inherits the isolation, so SharedArrayBuffer and a shared wasm
 * memory can be posted to it.
 */
import type { StartWorker, WorkerPort } from '../worker.js';

interface WebWorker {
  postMessage(message: unknown, transfer: readonly ArrayBuffer[]): void;
  addEventListener(type: 'message', f: (e: { data: unknown }) => void): void;
  addEventListener(type: 'error', f: (e: { message?: string }) => void): void;
  terminate(): void;
}
interface BrowserGlobals {
  Worker: new (url: string) => WebWorker;
  Blob: new (parts: string[], options: { type: string }) => unknown;
  URL: { createObjectURL(blob: unknown): string; revokeObjectURL(url: string): void };
}
const web = globalThis as unknown as BrowserGlobals;

const PRELUDE = `
const port = { post: (m, t) => self.postMessage(m, t), on: (f) => self.addEventListener('message', (e) => f(e.data)) };
`;

/** Starts a Web Worker; pages have no thread priorities, so `background` changes nothing here. */
export const startWorker: StartWorker = (source: string): WorkerPort => {
  const url = web.URL.createObjectURL(new web.Blob([PRELUDE + source], { type: 'text/javascript' }));
  const worker = new web.Worker(url);
  let stopped = false;
  let failed: ((e: Error) => void) | undefined;
  worker.addEventListener('error', (e) => {
    const f = failed;
    failed = undefined;
    if (!stopped) f?.(new Error(e.message ?? 'a worker failed'));
  });
  return {
    post: (m, transfer) => worker.postMessage(m, transfer),
    onMessage: (f) => worker.addEventListener('message', (e) => f(e.data)),
    onFailure: (f) => void (failed = f),
    busy: () => undefined, // a page lives as long as its tab: nothing to keep alive
    terminate: () => {
      if (stopped) return;
      stopped = true;
      worker.terminate();
      web.URL.revokeObjectURL(url);
    },
  };
};
