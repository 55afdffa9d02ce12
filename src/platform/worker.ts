/**
 * The platform seam for starting workers: what the core needs of a worker thread, with no platform module
 * imported here. `startWorker.ts` is the Node implementation (node:worker_threads); a browser one (Web
 * Workers from a Blob URL) implements the same `StartWorker`, and a bundler swaps the file.
 *
 * A worker runs `WORKER_MAIN`, which speaks to its host through a `port` the implementation's prelude
 * defines (`port.post(message, transfer)`, `port.on(handler)`), so the worker's code is written once.
 */

/** A started worker, as the core sees it. */
export interface WorkerPort {
  /** Sends a message; the buffers in `transfer` move to the worker (they are detached here). */
  post(message: unknown, transfer: readonly ArrayBuffer[]): void;
  /** Calls `f` with every message the worker sends. */
  onMessage(f: (message: unknown) => void): void;
  /** Calls `f` once if the worker fails outside a task (an uncaught error, or it stopped by itself). */
  onFailure(f: (error: Error) => void): void;
  /** Whether the worker keeps the process alive (while it has work) or not (while idle). */
  busy(busy: boolean): void;
  /** Stops the worker; idempotent. */
  terminate(): void;
}

/** How a worker is started. */
export interface StartOptions {
  /** At the lowest CPU priority the platform allows, where it allows one (Node on Linux: nice 19 for the worker's thread). */
  readonly background?: boolean;
}

/** Starts a worker running `source` (plain JavaScript using `port`, see `WORKER_MAIN`). */
export type StartWorker = (source: string, options?: StartOptions) => WorkerPort;

/**
 * A function a worker can run: the source text of a self-contained function expression (no free variables
 * but globals), or an export of an ES module (by URL, for functions that import things). The function may
 * be async; it must be pure (same input, same output) for a parallel stage to mean anything.
 */
export type WorkerFunction<A, B> =
  | {
      readonly source: string;
      /** Never set: carries the function's input and output types. */
      readonly __types?: (a: A) => B;
    }
  | {
      readonly module: string;
      readonly name: string;
      /** Never set: carries the function's input and output types. */
      readonly __types?: (a: A) => B;
    };

/** The non-shared ArrayBuffers under `value` (typed arrays and buffers, three levels deep), to transfer. */
export const transferables = (value: unknown): ArrayBuffer[] => {
  const out = new Set<ArrayBuffer>();
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 3) return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
      return;
    }
    if (v instanceof ArrayBuffer) {
      out.add(v);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v as object)) walk(x, depth + 1);
  };
  walk(value, 0);
  return [...out];
};

/**
 * The worker-side protocol: `{ fn }` once, then `{ id, input }` -> `{ id, ok, value | error }`; a result's
 * buffers are transferred (the worker keeps nothing of a pure function's result).
 */
export const WORKER_MAIN = `
const buffers = ${transferables.toString()};
let fn;
port.on(async (msg) => {
  if (msg.fn !== undefined) {
    const spec = msg.fn;
    fn = spec.source !== undefined
      ? Promise.resolve().then(() => (0, eval)('(' + spec.source + ')'))
      : import(spec.module).then((m) => m[spec.name]);
    fn = fn.then((f) => {
      if (typeof f !== 'function') throw new TypeError('parallel: the worker function is not a function (' + (spec.name ?? 'source') + ')');
      return f;
    });
    fn.catch(() => undefined);
    return;
  }
  try {
    const value = await (await fn)(msg.input);
    port.post({ id: msg.id, ok: true, value }, buffers(value));
  } catch (e) {
    const error = e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: 'Error', message: String(e) };
    port.post({ id: msg.id, ok: false, error }, []);
  }
});
`;

