/**
 * SHA-256, incremental, as the content hash of model and checkpoint files needs it (see io/contentHash.ts):
 * Node's `node:crypto` here, a small synchronous implementation in browser/sha256.ts (WebCrypto's digest is
 * asynchronous and not incremental). Strings are hashed as UTF-8.
 */
import { createHash } from 'node:crypto';

export interface Sha256 {
  update(data: string | Uint8Array): Sha256;
  /** The digest as lowercase hex; the hasher is spent. */
  hex(): string;
}

export const sha256 = (): Sha256 => {
  const h = createHash('sha256');
  const self: Sha256 = {
    update: (data) => (h.update(data), self),
    hex: () => h.digest('hex'),
  };
  return self;
};
