import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { backprop, grad } from '../../src/nn/grad.js';
import { batchGradMonoid } from '../../src/nn/gradient.js';
import { initNetwork } from '../../src/nn/init.js';
import { cloneNetwork, networksEqual, type Network } from '../../src/nn/network.js';
import { initialState, move } from '../../src/optim/move.js';
import { optimizer, OPTIMIZERS } from '../../src/optim/optimizer.js';
import { toBatch, type LabeledBatch } from '../../src/stages/batch.js';
import { readDataset } from '../../src/stages/read.js';
import { compose, map, runStage } from '../../src/stages/stage.js';
import { stepBuffers } from '../../src/optim/descend.js';
import { initialTrainState, snapshot, type StateView, type TrainState } from '../../src/optim/trainState.js';
import { stepOnce, trainingStep, trainStep } from '../../src/stages/trainStep.js';
import { randomDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';
import type { Dataset } from '../../src/data/dataset.js';

const labeled = (ds: Dataset, order: number[], epoch = 0, batchInEpoch = 0): LabeledBatch => ({
  ...toBatch(order.map((i) => [...readDataset(ds)][i]!), ds.classes),
  epoch,
  batchInEpoch,
  lastInEpoch: false,
});

const arbSetup = fc.record({ seed: fc.nat(), count: fc.integer({ min: 2, max: 24 }), hidden: fc.integer({ min: 1, max: 8 }), kind: fc.constantFrom(...OPTIMIZERS) }).map(({ seed, count, hidden, kind }) => {
  const ds = randomDataset(seed, count, 3, 3, 3);
  const net = unwrap(initNetwork({ sizes: [9, hidden, 3], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, seed));
  return { ds, net, seed, kind, order: Array.from({ length: count }, (_, i) => i) };
});

const params = (n: Network) => n.layers.flatMap((l) => [...l.weight.data, ...l.bias]);

describe('trainStep', () => {
  test.prop([arbSetup, fc.nat()], { numRuns: 100 })(
    "the gradient of a concatenated batch equals the size-weighted mean of the parts' gradients",
    ({ ds, net, order }, cutAt) => {
      const cut = 1 + (cutAt % (order.length - 1));
      const opt = unwrap(optimizer({ kind: 'sgd', lr: 0.5 }));
      const whole = stepOnce({ loss: 'cross-entropy', optimizer: opt })(initialTrainState(net, opt), labeled(ds, order));
      const g = batchGradMonoid(net).concat(grad('cross-entropy')(net, labeled(ds, order.slice(0, cut))), grad('cross-entropy')(net, labeled(ds, order.slice(cut))));
      const stepped = move(opt)(net, g.gradient, initialState(opt, net));
      const a = params(whole.network);
      params(stepped.network).forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));
      expect(whole.loss).toBeCloseTo(g.loss, 5);
    },
  );

  test.prop([arbSetup], { numRuns: 100 })('a zero learning rate leaves the network unchanged', ({ ds, net, order, kind }) => {
    const opt = unwrap(optimizer({ kind, lr: 0 }));
    const s = stepOnce({ loss: 'cross-entropy', optimizer: opt })(initialTrainState(net, opt), labeled(ds, order));
    expect(networksEqual(s.network, net)).toBe(true);
    expect(s.step).toBe(1);
  });

  test.prop([arbSetup, fc.nat()], { numRuns: 100 })(
    'the step is invariant to the order of examples within a batch (up to float tolerance)',
    ({ ds, net, order, kind }, seed) => {
      const shuffled = [...order].sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
      const opt = unwrap(optimizer({ kind, lr: 0.1 }));
      const f = stepOnce({ loss: 'cross-entropy', optimizer: opt });
      const a = params(f(initialTrainState(net, opt), labeled(ds, order)).network);
      params(f(initialTrainState(net, opt), labeled(ds, shuffled)).network).forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));
    },
  );

  const moments = (s: StateView) => [s.optimizer.first, s.optimizer.second].flatMap((g) => g?.layers.flatMap((l) => [...l.weight.data, ...l.bias]) ?? []);
  const same = (a: StateView, b: StateView) => {
    expect(networksEqual(a.network, b.network)).toBe(true);
    expect(moments(a)).toEqual(moments(b));
    expect(a.optimizer.step).toBe(b.optimizer.step);
  };
  const batchesOf = (ds: Dataset, steps: number) => {
    const per = Math.max(1, Math.floor(ds.count / steps));
    return Array.from({ length: steps }, (_, k) => labeled(ds, Array.from({ length: per }, (_, i) => (i + k * per) % ds.count), 0, k));
  };

  test.prop([arbSetup, fc.integer({ min: 2, max: 6 })], { numRuns: 100 })(
    'without reuseBuffers every emitted state is independent of later ones (keeping a state is safe)',
    ({ ds, net, kind }, steps) => {
      const opt = unwrap(optimizer({ kind, lr: 0.05 }));
      const batches = batchesOf(ds, steps);
      const states = runStage(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt)), batches);
      const copies = states.map((s) => cloneNetwork(s.network));
      // run more steps from a kept state: nothing emitted before may change
      runStage(trainStep({ loss: 'cross-entropy', optimizer: opt }, states[0]!), batches);
      states.forEach((s, i) => expect(networksEqual(s.network, copies[i]!)).toBe(true));
      expect(new Set(states.map((s) => s.network.layers[0]!.weight.data)).size).toBe(states.length);
      expect(states.every((s) => s.buffers === 'owned')).toBe(true);
    },
  );

  test.prop([arbSetup, fc.integer({ min: 3, max: 6 })], { numRuns: 100 })(
    'reusing buffers changes no bits: with `reuseBuffers` the states equal those without it, and a state stays valid until the second step after it (its snapshot forever)',
    ({ ds, net, kind }, steps) => {
      const opt = unwrap(optimizer({ kind, lr: 0.1, momentum: 0.9 }));
      const batches = batchesOf(ds, steps);
      const config = { loss: 'cross-entropy' as const, optimizer: opt };
      const reusing = trainingStep({ ...config, reuseBuffers: true }, stepBuffers(config, net, true));
      const fresh = stepOnce(config);
      let r: StateView = initialTrainState(net, opt);
      let f: TrainState = initialTrainState(net, opt);
      const kept: TrainState[] = [];
      const expected: TrainState[] = [];
      for (const b of batches) {
        const previous = r;
        const previousFresh = f;
        r = reusing(r, b);
        f = fresh(f, b);
        expect(r.buffers).toBe('borrowed');
        same(r, f);
        same(previous, previousFresh); // the state before is still intact after the step after it
        kept.push(snapshot(r));
        expected.push(f);
      }
      kept.forEach((k, i) => same(k, expected[i]!));
      // the initial network is the caller's: never written
      expect(networksEqual(initialTrainState(net, opt).network, net)).toBe(true);
    },
  );

  test.prop([arbSetup, fc.integer({ min: 2, max: 5 }), fc.boolean()], { numRuns: 100 })(
    'running the same stage value twice gives two independent runs',
    ({ ds, net, kind }, steps, reuseBuffers) => {
      const opt = unwrap(optimizer({ kind, lr: 0.1, momentum: 0.9 }));
      const batches = batchesOf(ds, steps);
      const stage = trainStep({ loss: 'cross-entropy', optimizer: opt, reuseBuffers }, initialTrainState(net, opt));
      // each run keeps its states as they are emitted and as snapshots taken at once
      const run = () => runStage(compose(stage, map((s: StateView) => ({ s, copy: snapshot(s) }))), batches);
      const first = run();
      const second = run();
      expect(second.map((x) => x.copy.step)).toEqual(first.map((x) => x.copy.step));
      second.forEach((x, i) => same(x.copy, first[i]!.copy)); // the second run starts afresh
      // the first run's last state is still what it was: the second run wrote into buffers of its own
      same(first.at(-1)!.s, first.at(-1)!.copy);
    },
  );

  it('with reuseBuffers the step alternates between two buffer sets and never writes the input state', () => {
    const ds = randomDataset(3, 24, 3, 3, 3);
    const net = unwrap(initNetwork({ sizes: [9, 5, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 4));
    const opt = unwrap(optimizer({ kind: 'momentum', lr: 0.1 }));
    const batches = [0, 1, 2].map((k) => labeled(ds, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i + 8 * k), 0, k));
    const config = { loss: 'cross-entropy' as const, optimizer: opt };
    const f = trainingStep(config, stepBuffers(config, net, true));
    const s0 = initialTrainState(net, opt);
    const s1 = f(s0, batches[0]!);
    const s2 = f(s1, batches[1]!);
    const s3 = f(s2, batches[2]!);
    const buffer = (s: StateView) => s.network.layers[0]!.weight.data;
    expect(buffer(s3)).toBe(buffer(s1));
    expect(buffer(s2)).not.toBe(buffer(s1));
    expect(buffer(s1)).not.toBe(net.layers[0]!.weight.data);
    // stepping again from s3 (not from s3's successor) must not write into s3's own buffers
    const kept = snapshot(s3);
    const again = f(s3, batches[0]!);
    expect(buffer(again)).not.toBe(buffer(s3));
    expect(networksEqual(s3.network, kept.network)).toBe(true);
    // a snapshot owns new buffers; a value's snapshot is itself
    expect(kept.buffers).toBe('owned');
    expect(buffer(kept)).not.toBe(buffer(s3));
    expect(snapshot(kept)).toBe(kept);
  });

  it('a diverging step is not applied and names the step, layer and tensor', () => {
    const ds = randomDataset(4, 16, 3, 3, 3);
    const net = unwrap(initNetwork({ sizes: [9, 8, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 5));
    const opt = unwrap(optimizer({ kind: 'sgd', lr: 1e30 }));
    const batches = [0, 1, 2, 3].map((k) => labeled(ds, [0, 1, 2, 3].map((i) => i + 4 * k), 0, k));
    const states = runStage(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt)), batches);
    const last = states.at(-1)!;
    expect(last.divergence).toBeDefined();
    expect(last.divergence!.message).toMatch(/^step \d+ \(epoch 1\): .*non-finite.* in the (weights|bias|activations|logits|loss|weight gradient|bias gradient)/);
    expect(last.divergence!.hints.join(' ')).toMatch(/learning rate/);
    // the stream ended at the diverged state, and its network is the last finite one
    expect(states.length).toBeLessThanOrEqual(batches.length);
    for (const l of last.network.layers) for (const v of l.weight.data) expect(Number.isFinite(v)).toBe(true);
  });

  it('a batch loss above 1000 times its first value stops the run as divergence, not applied, naming the step and layer', () => {
    const ds = randomDataset(4, 64, 3, 3, 3);
    const net = unwrap(initNetwork({ sizes: [9, 16, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 5));
    const opt = unwrap(optimizer({ kind: 'sgd', lr: 1e4 }));
    const batches = Array.from({ length: 16 }, (_, k) => labeled(ds, [0, 1, 2, 3].map((i) => i + 4 * k), 0, k));
    const states = runStage(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt)), batches);
    const last = states.at(-1)!;
    expect(last.divergence?.where).toMatchObject({ kind: 'exploding-loss' });
    expect(last.divergence!.message).toMatch(/^step \d+ \(epoch 1\): the batch loss \S+ exceeds \S+ \(1000 times .*layer \d/);
    // every state before it was within the bound of the first loss; the diverged one kept the network before it
    const first = states[0]!.loss;
    for (const s of states.slice(0, -1)) expect(s.loss).toBeLessThanOrEqual(1000 * Math.max(first, Math.log(3)));
    expect(last.step).toBe(states.at(-2)?.step ?? 0);
    expect(last.first?.loss).toBe(first);
  });

  test.prop([arbSetup, fc.nat({ max: 1000 }), fc.double({ min: 0.05, max: 0.9, noNaN: true })], { numRuns: 50 })(
    "dropout: a step's masks are those of (seed, the state's step): stepOnce equals move of backprop with that dropout step",
    ({ ds, net, order, kind }, at, rate) => {
      const opt = unwrap(optimizer({ kind, lr: 0.1 }));
      const start: TrainState = { ...initialTrainState(net, opt), step: at };
      const b = labeled(ds, order);
      const stepped = stepOnce({ loss: 'cross-entropy', optimizer: opt, dropout: { rate, seed: 9 } })(start, b);
      // the oracle: backprop with the masks of (9, at), then the optimiser's move, by hand
      const bp = backprop('cross-entropy', net, b, undefined, undefined, { rate, seed: 9, step: at });
      const moved = move(opt)(net, bp.gradient, start.optimizer, opt.lr);
      expect(params(stepped.network)).toEqual(params(moved.network));
      expect(stepped.loss).toBe(bp.loss);
    },
  );

  test.prop([arbSetup], { numRuns: 50 })('dropout: p = 0 is the identity through the training step', ({ ds, net, order, kind }) => {
    const opt = unwrap(optimizer({ kind, lr: 0.1 }));
    const b = labeled(ds, order);
    const plain = stepOnce({ loss: 'cross-entropy', optimizer: opt })(initialTrainState(net, opt), b);
    const zero = stepOnce({ loss: 'cross-entropy', optimizer: opt, dropout: { rate: 0, seed: 3 } })(initialTrainState(net, opt), b);
    expect(params(zero.network)).toEqual(params(plain.network));
  });
});
