/**
 * A SHA-256 over what a safetensors file means rather than how its header happens to be written:
 * every tensor's name, dtype, shape and bytes, and every metadata entry except the hash itself.
 *
 * Laws: contentHash is independent of tensor layout order, header key order and header padding;
 *       changing any name, dtype, shape, data byte or metadata value (other than `sha256`) changes it.
 * The model and checkpoint files store it in `__metadata__.sha256` so truncation and bit rot are refused.
 */
import { createHash } from 'node:crypto';
import { tensorBytes, type Tensor } from './safetensors.js';

/** The metadata key that holds the hash. */
export const HASH_KEY = 'sha256';

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lowercase hex SHA-256 of the content (see the module comment). */
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
