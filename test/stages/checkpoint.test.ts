/** The conversion between a training state and a checkpoint (the stage itself: checkpointStage.test.ts). */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/io/checkpoint.js';
import { parseJson, toJson } from '../../src/io/json.js';
import type { Gradient } from '../../src/nn/gradient.js';
import { initNetwork } from '../../src/nn/init.js';
import type { Network } from '../../src/nn/network.js';
import { optimizer, OPTIMIZERS } from '../../src/optim/optimizer.js';
import { initialTrainState, type TrainState } from '../../src/optim/trainState.js';
import { fromCheckpoint, toCheckpoint } from '../../src/stages/checkpoint.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { stepOnce } from '../../src/stages/trainStep.js';
import type { ValidationState } from '../../src/stages/validate.js';
import { randomDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';

const bits = (a: Float32Array): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];
const netBits = (n: Network) => n.layers.map((l) => [l.activation, l.weight.rows, l.weight.cols, bits(l.weight.data), bits(l.bias)]);
const gradBits = (g: Gradient | undefined) => g && g.layers.map((l) => [l.weight.rows, l.weight.cols, bits(l.weight.data), bits(l.bias)]);

/** Everything a resumed run reads from a state and its validation record, as comparable values. */
const resumed = (s: TrainState, v: ValidationState | undefined) => {
  const { network, optimizer: o, divergence: _d, buffers, ...counters } = s;
  return {
    buffers,
    network: netBits(network),
    optimizer: { step: o.step, first: gradBits(o.first), second: gradBits(o.second) },
    counters,
    validation: v && { ...v, best: { ...v.best, network: netBits(v.best.network) } },
  };
};

/** The states of a short seeded run: every one of them, from the initial state on. */
const run = async (seed: number, kind: (typeof OPTIMIZERS)[number], steps: number): Promise<TrainState[]> => {
  const dataset = randomDataset(seed, 12, 2, 3, 3);
  const net = unwrap(initNetwork({ sizes: [6, 4, 3], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, seed));
  const opt = unwrap(optimizer({ kind, lr: 0.1 }));
  const step = stepOnce({ loss: 'cross-entropy', optimizer: opt });
  const states = [initialTrainState(net, opt)];
  for await (const b of epochBatches({ dataset, seed, batchSize: 5, epochs: 4, yieldEveryMs: 0 })) {
    if (states.length > steps) break;
    states.push(step(states.at(-1)!, b));
  }
  return states;
};

const arbCase = fc.record({
  seed: fc.nat({ max: 10_000 }),
  kind: fc.constantFrom(...OPTIMIZERS),
  steps: fc.integer({ min: 0, max: 10 }),
  // none, the current network as the best, or an earlier one
  best: fc.option(fc.nat(), { nil: undefined }),
  record: fc.record({ loss: fc.double({ noNaN: false }).map((x) => (Object.is(x, -0) ? 0 : x)), accuracy: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)), sinceBest: fc.nat(20) }), // -0 is stored as 0 (json.ts)
  config: fc.jsonValue(),
  bytes: fc.boolean(),
});

describe('toCheckpoint and fromCheckpoint', () => {
  test.prop([arbCase], { numRuns: 100 })('fromCheckpoint(toCheckpoint(s)) = s (for every field a resumed run depends on)', async (c) => {
    const states = await run(c.seed, c.kind, c.steps);
    const s = states.at(-1)!;
    const at = c.best === undefined ? undefined : states[c.best % states.length]!;
    const validation: ValidationState | undefined = at && {
      epoch: s.epoch,
      loss: c.record.loss,
      accuracy: c.record.accuracy,
      sinceBest: c.record.sinceBest,
      best: { epoch: at.epoch, step: at.step, loss: 0.5, accuracy: 0.25, network: at.network },
    };
    const saved = toCheckpoint({ ...s, validation }, c.config);
    // directly, and through the bytes of a checkpoint file
    const ckpt = c.bytes ? unwrap(decodeCheckpoint(encodeCheckpoint(saved), 'mem')) : saved;
    const back = fromCheckpoint(ckpt, 'mem');
    if (E.isLeft(back)) throw new Error(back.left.message);
    expect(resumed(back.right.state, back.right.validation)).toEqual(resumed(s, validation));
    expect(back.right.config).toEqual(c.bytes ? parseJson(toJson(c.config)) : c.config);
  });
});
