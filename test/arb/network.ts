/** fast-check arbitraries for small networks, batches and the activation x loss pairings. */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { Activation } from '../../src/nn/activation.js';
import { initNetwork } from '../../src/nn/init.js';
import type { LossName } from '../../src/nn/loss.js';
import type { Network } from '../../src/nn/network.js';
import { rng } from '../../src/nn/random.js';
import { matrix, type Matrix } from '../../src/tensor/matrix.js';
import type { Batch } from '../../src/nn/grad.js';
import type { Gradient } from '../../src/nn/gradient.js';

export const HIDDEN: readonly Activation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
export const PAIRINGS: readonly { readonly output: Activation; readonly loss: LossName }[] = [
  { output: 'softmax', loss: 'cross-entropy' },
  { output: 'sigmoid', loss: 'cross-entropy' },
  { output: 'softmax', loss: 'mse' },
  { output: 'sigmoid', loss: 'mse' },
  { output: 'identity', loss: 'mse' },
];

export interface Case {
  readonly net: Network;
  readonly loss: LossName;
  readonly batch: Batch;
  readonly seed: number;
}

const unwrap = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`unexpected Left: ${JSON.stringify(e.left)}`);
  return e.right;
};

/** A seeded random matrix with entries uniform in [lo, hi). */
export const randomMatrix = (seed: number, tag: string, rows: number, cols: number, lo = -1, hi = 1): Matrix => {
  const r = rng(seed, tag);
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r();
  return matrix(rows, cols, d);
};

/** Targets that suit the loss and output: one-hot rows for softmax cross-entropy, [0,1] for sigmoid, reals for identity. */
export const randomTargets = (seed: number, rows: number, cols: number, output: Activation, loss: LossName): Matrix => {
  const r = rng(seed, 'targets');
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (output === 'softmax' && loss === 'cross-entropy') d[i * cols + Math.floor(r() * cols)] = 1;
    else for (let j = 0; j < cols; j++) d[i * cols + j] = output === 'identity' ? 2 * r() - 1 : r();
  }
  return matrix(rows, cols, d);
};

export const arbCase = (opts: { maxBatch?: number; hidden?: readonly Activation[] } = {}): fc.Arbitrary<Case> =>
  fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }),
      hidden: fc.constantFrom(...(opts.hidden ?? HIDDEN)),
      pairing: fc.constantFrom(...PAIRINGS),
      batchSize: fc.integer({ min: 1, max: opts.maxBatch ?? 16 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ sizes, hidden, pairing, batchSize, seed }) => {
      const out = sizes[sizes.length - 1]!;
      // softmax over one class is constant: give softmax outputs at least two classes
      const sz = pairing.output === 'softmax' && out < 2 ? [...sizes.slice(0, -1), 2] : sizes;
      const net = unwrap(initNetwork({ sizes: sz, hidden, output: pairing.output }, { kind: 'normal', std: 0.8 }, seed));
      const inputs = randomMatrix(seed, 'inputs', batchSize, sz[0]!);
      const targets = randomTargets(seed, batchSize, sz[sz.length - 1]!, pairing.output, pairing.loss);
      return { net, loss: pairing.loss, batch: { inputs, targets }, seed };
    });

export { unwrap };

const entry = fc.double({ min: -10, max: 10, noNaN: true });

/** A float64 gradient shaped like `net` whose entries are drawn independently in [-10, 10]. */
export const arbGradientOf = (net: Network<Float64Array>): fc.Arbitrary<Gradient<Float64Array>> =>
  fc
    .tuple(
      ...net.layers.map((l) =>
        fc
          .tuple(fc.array(entry, { minLength: l.weight.data.length, maxLength: l.weight.data.length }), fc.array(entry, { minLength: l.bias.length, maxLength: l.bias.length }))
          .map(([w, b]) => ({ weight: matrix(l.weight.rows, l.weight.cols, Float64Array.from(w)), bias: Float64Array.from(b) })),
      ),
    )
    .map((layers) => ({ layers }));
