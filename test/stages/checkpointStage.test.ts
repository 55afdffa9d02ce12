/**
 * The checkpoint stage and writer: what is saved is exactly the state of the step it names, even when the
 * stop condition changes while the writer is busy and the training step reuses its buffers (the mechanism
 * that once wrote a checkpoint labelled with one step and holding the weights of a later one).
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { from, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/io/checkpoint.js';
import { initNetwork } from '../../src/nn/init.js';
import { networksEqual } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { initialTrainState, snapshot, type StateView, type TrainState } from '../../src/optim/trainState.js';
import { checkpoint, checkpointWriter, fromCheckpoint } from '../../src/stages/checkpoint.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { compose, map, runStage, rx } from '../../src/stages/stage.js';
import { anyOf, maxEpochs, stopWhen, type Stopped } from '../../src/stages/stopWhen.js';
import { stepOnce, trainStep } from '../../src/stages/trainStep.js';
import { randomDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';
import { outputs } from '../laws/harness.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

const setup = (seed: number) => {
  const dataset = randomDataset(seed, 40, 3, 3, 3);
  const net = unwrap(initNetwork({ sizes: [9, 7, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, seed));
  const opt = unwrap(optimizer({ kind: 'momentum', lr: 0.1, momentum: 0.9 }));
  return { dataset, net, opt, plan: { dataset, seed, batchSize: 4, epochs: 4, yieldEveryMs: 0 } };
};

/** Every state of an uninterrupted run without buffer reuse, by step: the reference. */
const reference = async (seed: number): Promise<Map<number, TrainState>> => {
  const { net, opt, plan } = setup(seed);
  const step = stepOnce({ loss: 'cross-entropy', optimizer: opt });
  const byStep = new Map<number, TrainState>();
  let s = initialTrainState(net, opt);
  for await (const b of epochBatches(plan)) {
    s = step(s, b);
    byStep.set(s.step, s);
  }
  return byStep;
};

describe('checkpoint stage', () => {
  test.prop([fc.nat({ max: 1000 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 12 })], { numRuns: 25 })(
    'every saved checkpoint equals the snapshot of the step it names, when the stop condition changes while the writer is busy and buffers are reused',
    async (seed, stopAfterWrites, slowTurns) => {
      const { net, opt, plan } = setup(seed);
      const expected = await reference(seed);
      const saved: Checkpoint[] = [];
      let busy = false;
      let interruptAt: number | undefined;
      const writer = checkpointWriter({
        // a slow writer: the stream goes on for several steps while it works; it encodes at the end
        save: async (c) => {
          busy = true;
          for (let i = 0; i < slowTurns; i++) await turn();
          saved.push(unwrap(decodeCheckpoint(encodeCheckpoint(c), 'mem')));
          busy = false;
          return E.right(undefined);
        },
        config: { run: 'test' },
      });
      let seen = 0;
      // an external condition that starts to hold while the writer is busy (as a signal would)
      const interrupted = (s: StateView) => {
        seen++;
        if (interruptAt === undefined && busy && seen >= stopAfterWrites) interruptAt = s.step;
        return interruptAt !== undefined ? 'interrupted' : undefined;
      };
      const last = await lastValueFrom(
        from(epochBatches(plan)).pipe(
          rx(trainStep({ loss: 'cross-entropy', optimizer: opt, reuseBuffers: true }, initialTrainState(net, opt))),
          rx(stopWhen(anyOf(maxEpochs(plan.epochs), interrupted))),
          rx(checkpoint(writer)),
        ),
      );
      expect(E.isRight(await writer.settled())).toBe(true);
      // saved: every epoch end before the stop, and the stop itself, in order, each once
      const ends = [...expected.values()].filter((s) => s.endOfEpoch && s.step < last.state.step).map((s) => s.step);
      expect(saved.map((c) => unwrap(fromCheckpoint(c, 'mem')).state.step)).toEqual([...ends, last.state.step]);
      for (const c of saved) {
        const { state } = unwrap(fromCheckpoint(c, 'mem'));
        const truth = expected.get(state.step)!;
        expect(networksEqual(state.network, truth.network)).toBe(true);
        expect(state.optimizer.first!.layers.map((l) => [...l.weight.data])).toEqual(truth.optimizer.first!.layers.map((l) => [...l.weight.data]));
        expect([state.epoch, state.batchInEpoch, state.examplesSeen]).toEqual([truth.epoch, truth.batchInEpoch, truth.examplesSeen]);
      }
    },
  );

  const items = fc.array(fc.record({ endOfEpoch: fc.boolean(), step: fc.nat(), reason: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }) }), { maxLength: 20 });
  const asItems = (xs: { endOfEpoch: boolean; step: number; reason: string | undefined }[]) =>
    xs.map(({ reason, ...rest }) => ({ state: { ...initialTrainState(setup(1).net, setup(1).opt), ...rest }, reason }));

  test.prop([items], { numRuns: 100 })('checkpoint is the identity on the stream: it emits every item it receives, unchanged and in order', async (xs) => {
    const input = asItems(xs);
    const writer = { submit: () => undefined, settled: async () => E.right(0) };
    for (const out of await outputs(checkpoint(writer), input)) expect(out).toEqual(input);
  });

  test.prop([items], { numRuns: 100 })(
    'it submits exactly the states that end an epoch or carry a stop reason, each once, as snapshots taken when they arrive',
    (xs) => {
      const input = asItems(xs);
      const submitted: TrainState[] = [];
      runStage(checkpoint({ submit: (s) => void submitted.push(s), settled: async () => E.right(submitted.length) }), input);
      expect(submitted.map((s) => s.step)).toEqual(input.filter((i) => i.state.endOfEpoch || i.reason !== undefined).map((i) => i.state.step));
      expect(submitted.every((s) => s.buffers === 'owned')).toBe(true);
    },
  );

  it('a borrowed state is copied when it arrives: later writes into its buffers do not reach the checkpoint', () => {
    const { net, opt } = setup(3);
    const borrowed: Stopped<StateView> = { state: { ...initialTrainState(net, opt), endOfEpoch: true, buffers: 'borrowed' }, reason: undefined };
    const submitted: TrainState[] = [];
    const stage = compose(checkpoint<StateView>({ submit: (s) => void submitted.push(s), settled: async () => E.right(0) }), map((x: Stopped<StateView>) => x));
    runStage(stage, [borrowed]);
    const before = snapshot({ ...borrowed.state, buffers: 'borrowed' as const });
    borrowed.state.network.layers[0]!.weight.data.fill(7); // the run reuses the buffers
    expect(networksEqual(submitted[0]!.network, before.network)).toBe(true);
    expect(submitted[0]!.network.layers[0]!.weight.data).not.toBe(borrowed.state.network.layers[0]!.weight.data);
  });

  it('the writer writes in order, one at a time, and reports the first failure after trying the rest', async () => {
    const { net, opt } = setup(4);
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    const writer = checkpointWriter({
      save: async (c) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await turn();
        const step = unwrap(fromCheckpoint(c, 'mem')).state.step;
        order.push(step);
        inFlight--;
        return step === 2 ? E.left({ _tag: 'IOError', where: 'disk', message: 'full', hint: 'free space' }) : E.right(undefined);
      },
      config: null,
    });
    for (const step of [1, 2, 3]) writer.submit({ ...initialTrainState(net, opt), step });
    const r = await writer.settled();
    expect(order).toEqual([1, 2, 3]);
    expect(most).toBe(1);
    expect(r).toEqual(E.left({ _tag: 'IOError', where: 'disk', message: 'full', hint: 'free space' }));
  });
});
