import fc from 'fast-check';
import type { Dtype, Tensor } from '../../../src/io/safetensors.js';

const WIDTH: Record<Dtype, number> = { F32: 4, F64: 8, U8: 1, I32: 4 };

/** A tensor of the given dtype with every bit pattern possible (NaN payloads, -0, subnormals). */
export const tensorOf = (dtype: Dtype, maxDim = 4): fc.Arbitrary<Tensor> =>
  fc.array(fc.nat(maxDim), { maxLength: 3 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n * WIDTH[dtype], maxLength: n * WIDTH[dtype] }).map((raw) => {
      const b = raw.buffer;
      const data = { F32: () => new Float32Array(b), F64: () => new Float64Array(b), U8: () => new Uint8Array(b), I32: () => new Int32Array(b) }[dtype]();
      return { dtype, shape, data } as Tensor;
    });
  });

export const tensor: fc.Arbitrary<Tensor> = fc.constantFrom<Dtype>('F32', 'F64', 'U8', 'I32').chain((d) => tensorOf(d));

/** Any names (lone surrogates included) except the reserved `__metadata__`. */
export const tensorName = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s !== '__metadata__');

export const tensors = fc.dictionary(tensorName, tensor, { maxKeys: 5 });

export const metadata = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 16 }), {
  maxKeys: 4,
});

/** The raw bytes of a tensor's data, for bit-for-bit comparisons. */
export const bytesOf = (t: Tensor): number[] => [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)];

/** A tensor record as plain comparable values (NaN-safe, -0-safe). */
export const comparable = (ts: Readonly<Record<string, Tensor>>): [string, Dtype, number[], number[]][] =>
  Object.entries(ts).map(([name, t]) => [name, t.dtype, [...t.shape], bytesOf(t)]);

import type { Activation } from '../../../src/nn/activation.js';
import type { Network } from '../../../src/nn/network.js';

const HIDDEN: Activation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
const OUTPUT: Activation[] = ['identity', 'sigmoid', 'softmax'];

/** A valid float32 network: 1-3 layers, sizes 1-6, any weight bits (NaN and -0 included). */
export const network: fc.Arbitrary<Network> = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 })
  .chain((sizes) =>
    fc.tuple(
      ...sizes.slice(1).map((out, i) => {
        const inp = sizes[i]!;
        const last = i === sizes.length - 2;
        return fc.record({
          weight: fc.uint8Array({ minLength: 4 * out * inp, maxLength: 4 * out * inp }).map((b) => ({ rows: out, cols: inp, data: new Float32Array(b.buffer) })),
          bias: fc.uint8Array({ minLength: 4 * out, maxLength: 4 * out }).map((b) => new Float32Array(b.buffer)),
          activation: fc.constantFrom(...(last ? OUTPUT : HIDDEN)),
        });
      }),
    ),
  )
  .map((layers) => ({ layers }));

/** A network as plain comparable values (bit patterns of the floats). */
export const networkBits = (net: Network): unknown =>
  net.layers.map((l) => [l.weight.rows, l.weight.cols, [...new Uint8Array(l.weight.data.buffer, l.weight.data.byteOffset, l.weight.data.byteLength)], [...new Uint8Array(l.bias.buffer, l.bias.byteOffset, l.bias.byteLength)], l.activation]);
