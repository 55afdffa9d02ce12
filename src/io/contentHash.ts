/**
 * A SHA-256 over what a safetensors file means rather than how its header happens to be written:
 * every tensor's name, dtype, shape and bytes, and every metadata entry except the hash itself.
 * Its laws are stated on `contentHash` below.
 * The model and checkpoint files store it in `__metadata__.sha256` so truncation and bit rot are refused.
 */
import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import { tensorBytes, type Tensor } from './safetensors.js';

/** The metadata key that holds the hash. */
export const HASH_KEY = 'sha256';

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lowercase hex SHA-256 of the content (see the module comment).
 *
 * Laws:
 * - contentHash is independent of tensor layout order, header key order and header padding
 * - changing any name, dtype, shape, data byte or metadata value (other than sha256) changes it
 */
export const contentHash = (tensors: Readonly<Record<string, Tensor>>, metadata: Readonly<Record<string, string>>): string => {
  const h = createHash('sha256');
  const meta = Object.entries(metadata)
    .filter(([k]) => k !== HASH_KEY)
    .sort(([a], [b]) => byCodeUnit(a, b));
  h.update(`${JSON.stringify(meta)}\n`);
  // each tensor's byte count follows from its dtype and shape, so this framing is unambiguous
  for (const name of Object.keys(tensors).sort(byCodeUnit)) {
    const t = tensors[name]!;
    h.update(`${JSON.stringify([name, t.dtype, t.shape])}\n`);
    h.update(tensorBytes(t));
  }
  return h.digest('hex');
};

/**
 * Checks a decoded gradpipe file: its `format` tag is `format` and its stored hash matches its content.
 * `hint` says what to do when the content does not match (it depends on the kind of file).
 */
export const verifyContent = (
  file: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>>,
  format: string,
  hint: string,
): E.Either<GradpipeError, void> => {
  const found = metadata.format;
  if (found === undefined) {
    return E.left(modelError(file, `is not a gradpipe file (its metadata has no format, expected ${format})`, 'give a file written by gradpipe'));
  }
  if (found !== format) {
    return E.left(modelError(file, `has format '${found}', expected '${format}'`, 'give a file written by this version of gradpipe'));
  }
  const stored = metadata[HASH_KEY];
  if (stored === undefined) return E.left(modelError(file, 'is corrupted or truncated (its content hash is missing)', hint));
  if (stored !== contentHash(tensors, metadata)) return E.left(modelError(file, 'is corrupted or truncated (its content hash does not match)', hint));
  return E.right(undefined);
};
