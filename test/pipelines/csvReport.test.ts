/** The reporting-tap example: one CSV line per epoch whose numbers match the states, and taps change nothing. */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { collectSteps, CSV_HEADER, csvDefaults, csvReport, trainWithCsv } from '../../pipelines/examples/csvReport.js';
import { initNetwork } from '../../src/nn/init.js';
import { networksEqual } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { rx } from '../../src/stages/stage.js';
import { initialTrainState, type TrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import type { StepEvent } from '../../src/stages/report.js';
import { unwrap } from '../arb/network.js';
import { synthetic } from './synthetic.js';

const train = synthetic({ count: 500, seed: 30 }); // 16 batches of 32 per epoch, the last of 20
const test = synthetic({ count: 300, seed: 31 });

/** Every state of the example's run without any tap. */
const plainStates = async (): Promise<TrainState[]> => {
  const net = unwrap(initNetwork({ sizes: [35, 32, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, csvDefaults.seed));
  const opt = unwrap(optimizer({ kind: 'momentum', lr: 0.05, momentum: 0.9 }));
  return lastValueFrom(
    from(epochBatches({ dataset: train, seed: csvDefaults.seed, batchSize: csvDefaults.batchSize, epochs: csvDefaults.epochs })).pipe(
      rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt))),
      toArray(),
    ),
  );
};

describe('reporting tap example', () => {
  it('writes the header and one line per epoch whose loss and accuracy are the means over that epoch\'s batches', async () => {
    const lines: string[] = [];
    const { last, steps } = await trainWithCsv(train, (l) => lines.push(l));
    const states = await plainStates();
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines).toHaveLength(1 + csvDefaults.epochs);
    // the taps changed nothing: the same network as the run without them
    expect(networksEqual(last.network, states.at(-1)!.network)).toBe(true);
    for (let e = 0; e < csvDefaults.epochs; e++) {
      const cells = lines[1 + e]!.split(',');
      const ofEpoch = states.filter((s) => s.epoch === e);
      const n = ofEpoch.reduce((a, s) => a + s.batchSize, 0);
      expect(n).toBe(train.count);
      expect(Number(cells[0])).toBe(e + 1);
      expect(Number(cells[1])).toBe(ofEpoch.at(-1)!.step);
      expect(Number(cells[2])).toBe((e + 1) * train.count);
      expect(Number(cells[3])).toBeCloseTo(ofEpoch.reduce((a, s) => a + s.loss * s.batchSize, 0) / n, 5);
      expect(Number(cells[4])).toBeCloseTo(ofEpoch.reduce((a, s) => a + s.correct, 0) / n, 4);
    }
    expect(steps.map((s) => s.step)).toEqual(states.map((s) => s.step).filter((k) => k % csvDefaults.stepEvery === 0));
    expect(evaluate(last.network, test, { loss: 'cross-entropy' }).accuracy).toBeGreaterThan(0.9);
  });

  it('a tap sees every epoch even when the run stops early, and passes every state through', async () => {
    const lines: string[] = [];
    const events: StepEvent[] = [];
    const states = await plainStates();
    const seen = await lastValueFrom(from(states.slice(0, 40)).pipe(rx(csvReport((l) => lines.push(l))), rx(collectSteps(events, 1)), toArray()));
    expect(seen).toEqual(states.slice(0, 40));
    expect(lines.map((l) => l.split(',')[0])).toEqual(['1', '2']); // 40 steps = two full epochs of 16 and part of a third
    expect(events.map((e) => e.step)).toEqual(states.slice(0, 40).map((s) => s.step));
  });
});
