/**
 * Choosing the numeric backend for `--backend`. `auto` takes the fastest backend that works on this machine
 * (native BLAS, else WebAssembly SIMD, else the TypeScript reference) and says why in one line; an explicit
 * choice that cannot be had is an `OptionError` on `backend` (the CLI's `--backend`) naming the reason and the alternatives.
 *
 * Laws (for any availability of native and wasm; ts is always available):
 *   resolve('auto') chooses the first available of native, wasm, ts;
 *   resolve(x) for an available x chooses x; for an unavailable x it is a Left on backend;
 *   a thread count that is not an integer from 1 to MAX_THREADS is a Left on threads, whatever the choice.
 * Only the chosen backend is left running: auto never starts a slower backend than the one it picks.
 */
import * as E from 'fp-ts/lib/Either.js';
import { threadsError, validThreads, type Backend, type BackendName } from './backend.js';
import { optionError, type GradpipeError } from '../errors.js';
import { createNativeBackend } from '#platform/native.js';
import { createTsBackend } from './ts.js';
import { createWasmBackend } from './wasm/index.js';

/** What `--backend` accepts: a backend by name, or `auto` for the fastest available. */
export type BackendChoice = 'auto' | 'ts' | 'wasm' | 'native';

/** The values `--backend` accepts, `auto` first. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'ts'];

/** The order `auto` tries, fastest first. */
const PREFERENCE: readonly BackendName[] = ['native', 'wasm', 'ts'];

export type BackendFactory = (threads: number | undefined) => Promise<E.Either<GradpipeError, Backend>>;
export type BackendFactories = Readonly<Record<BackendName, BackendFactory>>;

const withThreads = (threads: number | undefined): { threads?: number } => (threads === undefined ? {} : { threads });

/** The real constructors. */
export const backendFactories: BackendFactories = {
  native: async (threads) => createNativeBackend(withThreads(threads)),
  wasm: (threads) => createWasmBackend(withThreads(threads)),
  ts: async () => E.right(createTsBackend()),
};

/** The backend `resolveBackend` chose, and why. */
export interface Resolved {
  readonly backend: Backend;
  /** One line for `gradpipe info` and the training log: what was chosen and why the others were not. */
  readonly why: string;
}

/** A factory that rejects (a bug in a backend's start-up) counts as unavailable, with the error as reason. */
const attempt = async (factory: BackendFactory, threads: number | undefined): Promise<E.Either<GradpipeError, Backend>> => {
  try {
    return await factory(threads);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return E.left(optionError('backend', `failed to start: ${why}`, 'report this as a bug'));
  }
};

const reason = (e: GradpipeError): string => e.message;

const others = (name: BackendName): string =>
  BACKEND_CHOICES.filter((c) => c !== name)
    .join(', ');

/** `resolveBackend` over the given constructors (tests pass fakes to exercise every availability). */
export const resolveBackendWith =
  (factories: BackendFactories) =>
  async (choice: BackendChoice, threads?: number): Promise<E.Either<GradpipeError, Resolved>> => {
    if (threads !== undefined && !validThreads(threads)) {
      return E.left(threadsError(threads));
    }
    if (choice !== 'auto') {
      const made = await attempt(factories[choice], threads);
      if (E.isRight(made)) return E.right({ backend: made.right, why: `${choice}: asked for by name` });
      if (made.left.where === 'threads') return made;
      return E.left(
        optionError('backend', `${choice} is not available here: ${reason(made.left)}`, `choose ${others(choice)} (auto picks the fastest available)`),
      );
    }
    const unavailable: string[] = [];
    for (const [i, name] of PREFERENCE.entries()) {
      const made = await attempt(factories[name], threads);
      if (E.isLeft(made)) {
        if (made.left.where === 'threads') return made;
        unavailable.push(`${name} unavailable (${reason(made.left)})`);
        continue;
      }
      const slower = PREFERENCE.slice(i + 1);
      const notTried = slower.length === 0 ? [] : [`${slower.join(' and ')} not tried (slower)`];
      return E.right({
        backend: made.right,
        why: [`auto chose ${name}`, ...unavailable, ...notTried].join('; '),
      });
    }
    // Unreachable with the real factories (ts always succeeds); a fake set may make every backend fail.
    return E.left(optionError('backend', `no backend is available: ${unavailable.join('; ')}`, 'install libdnnl-dev or libopenblas-dev and rebuild with `npm run build`'));
  };

/**
 * The backend for `--backend choice` with `threads` threads (default: each backend's own, all cores).
 * `auto` picks native when its addon loads, else wasm, else ts; `why` says which and why not the others.
 */
export const resolveBackend = (choice: BackendChoice, threads?: number): Promise<E.Either<GradpipeError, Resolved>> =>
  resolveBackendWith(backendFactories)(choice, threads);
