/**
 * `model.safetensors` files: `saveModel` writes the bytes of `encodeModel` atomically, `loadModel` reads and
 * verifies them with `decodeModel`. The format and its codec are in modelCodec.ts (re-exported here).
 *
 * Its law is stated on `loadModel` below.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import type { GradpipeError } from '../errors.js';
import type { Float } from '../tensor/matrix.js';
import type { Network } from '../nn/network.js';
import { writeFileAtomic } from './atomic.js';
import { fsError } from './ioError.js';
import { decodeModel, encodeModel, type LoadedModel, type ModelMeta } from './modelCodec.js';

export * from './modelCodec.js';

/** Writes `net` to `file` atomically (see atomic.ts): a crash leaves the previous model intact. */
export const saveModel = (file: string, net: Network<Float>, meta: ModelMeta): Promise<E.Either<GradpipeError, void>> =>
  writeFileAtomic(file, encodeModel(net, meta));

/**
 * Reads and verifies a model written by `saveModel` (a file whose content hash does not match is refused).
 *
 * Law: loadModel(file) after saveModel(file, net, meta) gives the float32 network and meta.loss.
 */
export const loadModel = async (file: string): Promise<E.Either<GradpipeError, LoadedModel>> => {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    return E.left(fsError(file, 'read the model', e));
  }
  return decodeModel(bytes, file);
};
