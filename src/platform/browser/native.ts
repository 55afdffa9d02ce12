/** The native backend in a browser: never available (see ../native.ts). */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../../errors.js';
import type { Backend } from '../../tensor/backend.js';

export const createNativeBackend = (_opts: { readonly threads?: number }): E.Either<GradpipeError, Backend> =>
  E.left(optionError('--backend', 'the native backend does not run in a browser', 'use the wasm backend'));
