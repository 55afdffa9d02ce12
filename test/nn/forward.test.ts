/**
 * The forward pass's activation ranges (`measure`): each layer's range is absRange of its outputs
 * (src/tensor/reduce.ts, the oracle), whether the backend measures it in its kernel's epilogue (native's
 * biasActivationRange) or after it (the others), and measuring changes no output bit.
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { dropoutMasks } from '../../src/nn/dropout.js';
import { forward } from '../../src/nn/forward.js';
import { absRange } from '../../src/tensor/reduce.js';
import { resolveBackend } from '../../src/tensor/select.js';
import { freshWorkspace } from '../../src/tensor/workspace.js';
import { arbCase } from '../arb/network.js';

const backends = await Promise.all(
  (['ts', 'wasm', 'native'] as const).map(async (name) => {
    const r = await resolveBackend(name);
    if (E.isLeft(r)) throw new Error(`the ${name} backend did not start: ${r.left.message}`);
    return r.right.backend;
  }),
);
const same = (a: number, b: number) => Object.is(a, b) || a === b;

describe('forward with measure', () => {
  for (const backend of backends) {
    test.prop([arbCase(), fc.option(fc.double({ min: 0.1, max: 0.9, noNaN: true }), { nil: undefined })], { numRuns: 60 })(
      `${backend.name}: ranges[l] is absRange(outputs[l]), and measuring changes no output (with and without dropout)`,
      ({ net, batch, seed }, rate) => {
        const masks = rate === undefined ? [] : dropoutMasks(batch.inputs.data, net, batch.inputs.rows, { rate, seed, step: 3 }, freshWorkspace);
        const measured = forward(net, batch.inputs, backend, freshWorkspace, masks, true);
        const plain = forward(net, batch.inputs, backend, freshWorkspace, masks);
        expect(measured.ranges).toHaveLength(net.layers.length);
        measured.outputs.forEach((o, l) => {
          const want = absRange(o.data, new Float64Array(2));
          const got = measured.ranges![l]!;
          expect([same(got[0]!, want[0]!), same(got[1]!, want[1]!)]).toEqual([true, true]);
          expect(Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength).equals(Buffer.from(plain.outputs[l]!.data.buffer, plain.outputs[l]!.data.byteOffset, plain.outputs[l]!.data.byteLength))).toBe(true);
        });
        expect(plain.ranges).toBeUndefined();
      },
    );
  }
});
