/**
 * Node's `StartWorker` (see worker.ts): a node:worker_threads Worker evaluating the source after a prelude
 * that defines `port` over `parentPort`. This file is the only place the stages' workers touch `node:`; a
 * browser build replaces it with one over Web Workers.
 */
import { Worker } from 'node:worker_threads';
import type { StartWorker, WorkerPort } from './worker.js';

const PRELUDE = `
const { parentPort } = require('node:worker_threads');
const port = { post: (m, t) => parentPort.postMessage(m, t), on: (f) => parentPort.on('message', f) };
`;

export const startWorker: StartWorker = (source: string): WorkerPort => {
  const worker = new Worker(PRELUDE + source, { eval: true });
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
