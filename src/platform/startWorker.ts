/**
 * Node's `StartWorker` (see worker.ts): a node:worker_threads Worker evaluating the source after a prelude
 * that defines `port` over `parentPort`. This file is the only place the stages' workers touch `node:`; a
 * browser build replaces it with one over Web Workers.
 */
import { Worker } from 'node:worker_threads';
import type { StartOptions, StartWorker, WorkerPort } from './worker.js';

const PRELUDE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads'); // works in CommonJS and, under --input-type=module, in ES modules
const port = { post: (m, t) => parentPort.postMessage(m, t), on: (f) => parentPort.on('message', f) };
`;

/**
 * Lowers the calling thread's priority to nice 19. On Linux, setpriority(PRIO_PROCESS, 0) changes the calling
 * thread only (threads are scheduled separately); elsewhere it would change the whole process, so it is not
 * called there. A failure leaves the priority as it was.
 */
const BACKGROUND = `
if (process.platform === 'linux') { try { process.getBuiltinModule('node:os').setPriority(0, 19); } catch {} }
`;

export const startWorker: StartWorker = (source: string, options?: StartOptions): WorkerPort => {
  const worker = new Worker(PRELUDE + (options?.background === true ? BACKGROUND : '') + source, { eval: true });
  worker.unref(); // idle until given work
  let stopped = false;
  let failed: ((e: Error) => void) | undefined;
  const fail = (e: Error): void => {
    const f = failed;
    failed = undefined;
    if (!stopped) f?.(e);
  };
  worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => fail(new Error(`parallel: a worker stopped by itself (exit code ${code})`)));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer as ArrayBuffer[]),
    onMessage: (f) => void worker.on('message', f),
    onFailure: (f) => void (failed = f),
    busy: (b) => (b ? worker.ref() : worker.unref()),
    terminate: () => {
      if (stopped) return;
      stopped = true;
      void worker.terminate();
    },
  };
};
