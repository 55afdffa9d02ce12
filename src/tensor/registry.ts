/**
 * Which backend is in use, for library callers and the CLI alike.
 *
 * 1. `setBackend(b)` pins one (the CLI does, from `--backend`); nothing below happens then.
 * 2. Else the first pipeline run through `rx` or `ix` (or an explicit `await ready()`) resolves the default
 *    once, exactly as `--backend auto` does (native, else wasm, else ts; see select.ts), or as the
 *    environment variable GRADPIPE_BACKEND (`auto`, `native`, `wasm`, `ts`) says.
 * 3. Kernel calls before either (a bare `forward` outside any pipeline, never awaited) run on the TypeScript
 *    reference: choosing wasm means starting worker threads, which cannot be waited for synchronously.
 *
 * `backendStatus()` says which of these happened and why, in one line.
 */
import type { Backend } from './backend.js';
import { createTsBackend } from './ts.js';
import { BACKEND_CHOICES, resolveBackend, type BackendChoice, type Resolved } from './select.js';
import { GradpipeException, optionError } from '../errors.js';

let current: Backend | undefined;
let why = 'ts: the default until a pipeline runs or `await ready()` picks the fastest backend';
let pending: Promise<Resolved> | undefined;

/** The TypeScript reference backend, in use until another is chosen. */
export const tsBackend: Backend = createTsBackend();

/** The backend in use (the TypeScript reference until one is chosen, see the module comment). */
export const getBackend = (): Backend => current ?? tsBackend;

/** True once a backend is pinned with `setBackend` or chosen by `ready()`. */
export const backendChosen = (): boolean => current !== undefined;

/** One line: the backend in use and why (e.g. "auto chose native; ..." or "wasm: pinned with setBackend"). */
export const backendStatus = (): string => why;

/** Makes `backend` the one in use (a pin: `ready()` will not replace it); returns the previous one (not disposed). */
export const setBackend = (backend: Backend): Backend => {
  const prev = getBackend();
  current = backend;
  why = `${backend.name}: pinned with setBackend`;
  return prev;
};

/** The environment variable naming the default backend (`auto` when unset). */
export const BACKEND_ENV = 'GRADPIPE_BACKEND';

const envChoice = (): BackendChoice | GradpipeException => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[BACKEND_ENV];
  if (env === undefined || env === '') return 'auto';
  return (BACKEND_CHOICES as readonly string[]).includes(env)
    ? (env as BackendChoice)
    : new GradpipeException(optionError(BACKEND_ENV, `"${env}" is not a backend`, `set it to one of ${BACKEND_CHOICES.join(', ')}, or unset it`));
};

/**
 * Chooses the default backend once (native, else wasm, else ts, or as GRADPIPE_BACKEND says) and makes it
 * the one in use, unless one was pinned with `setBackend`; resolves to what is in use and why. Every call
 * returns the same choice. Rejects only when GRADPIPE_BACKEND names a backend that cannot start here.
 */
export const ready = (): Promise<Resolved> => {
  if (current !== undefined) return Promise.resolve({ backend: current, why });
  pending ??= (async () => {
    const choice = envChoice();
    if (choice instanceof GradpipeException) throw choice;
    const resolved = await resolveBackend(choice);
    if (resolved._tag === 'Left') {
      const e = resolved.left.where === '--backend' ? { ...resolved.left, where: BACKEND_ENV } : resolved.left;
      throw new GradpipeException(e);
    }
    if (current !== undefined) {
      // pinned while we were choosing: the pin wins
      resolved.right.backend.dispose();
      return { backend: current, why };
    }
    current = resolved.right.backend;
    why = choice === 'auto' ? resolved.right.why : `${choice}: chosen with ${BACKEND_ENV}=${choice}`;
    return { backend: current, why };
  })();
  return pending;
};
