/** The browser's SHA-256 against Node's (node:crypto, the oracle), over any bytes cut into any pieces. */
import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sha256 as browserSha256 } from '../../src/platform/browser/sha256.js';
import { sha256 as nodeSha256 } from '../../src/platform/sha256.js';

const oracle = (parts: readonly (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

describe('sha256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(browserSha256().update('abc').hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(browserSha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(browserSha256().update('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq').hex()).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  test.prop([fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 80, unit: 'grapheme' })), { maxLength: 8 })], { numRuns: 300 })(
    'the browser hash equals node:crypto for any pieces of bytes and text',
    (parts) => {
      const b = browserSha256();
      const n = nodeSha256();
      for (const p of parts) (b.update(p), n.update(p));
      expect(b.hex()).toBe(oracle(parts));
      expect(n.hex()).toBe(oracle(parts));
    },
  );

  it('hashes a megabyte fed in odd pieces as node:crypto does', () => {
    const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
    const b = browserSha256();
    for (let at = 0; at < big.length; at += 4099) b.update(big.subarray(at, at + 4099));
    expect(b.hex()).toBe(oracle([big]));
  });
});
