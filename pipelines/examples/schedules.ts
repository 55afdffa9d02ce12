/**
 * Learning-rate schedules. The built-in ones (`constant`, `step:EPOCHS,GAMMA`, `cosine`) are part of the
 * training step's configuration; `cosine` needs the run's epochs and batches per epoch to know how far along
 * it is. Any other schedule is a small stage around `trainingStep`, one step on a run's buffers:
 * `trainStepWithRate` asks a function for each step's rate, here a linear warm-up followed by cosine decay.
 */
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

export interface ScheduleOptions {
  readonly lr: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
}

export const scheduleDefaults: ScheduleOptions = { lr: 0.1, epochs: 4, batchSize: 32, seed: 1 };

const start = (train: g.Dataset, o: ScheduleOptions) => {
  const sizes = [train.rows * train.cols, 32, train.classes];
  const net = g.orThrow(g.initNetwork({ sizes, hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed));
  const opt = g.orThrow(g.optimizer({ kind: 'momentum', lr: o.lr, momentum: 0.9 }));
  const config: g.TrainConfig = { loss: 'cross-entropy', optimizer: opt, epochs: o.epochs, batchesPerEpoch: g.batchesPerEpoch(train.count, o.batchSize) };
  return { config, initial: g.initialTrainState(net, opt), batches: g.epochBatches({ dataset: train, seed: o.seed, batchSize: o.batchSize, epochs: o.epochs }) };
};

/** Trains with a built-in schedule, e.g. `g.orThrow(g.parseSchedule('step:2,0.5'))`; returns every state's rate. */
export const trainWithSchedule = async (train: g.Dataset, schedule: g.Schedule, o: ScheduleOptions = scheduleDefaults) => {
  const { config, initial, batches } = start(train, o);
  const rates: number[] = [];
  const last = await lastValueFrom(from(batches).pipe(g.rx(g.trainStep({ ...config, schedule }, initial)), g.rx(g.tap((s) => rates.push(s.lr)))));
  return { last, rates };
};

/** The training step with the rate of each step chosen by `rateAt` (given the steps done and the batch). */
export const trainStepWithRate = (
  rateAt: (stepsDone: number, b: g.LabeledBatch) => number,
  config: g.TrainConfig,
  initial: g.TrainState,
): g.Stage<g.LabeledBatch, g.TrainState, { s: g.TrainState; buffers: g.StepBuffers }> => ({
  // the run's buffers: new ones for each run of the stage
  init: () => ({ s: initial, buffers: g.stepBuffers(config, initial.network, false) }),
  step: (st, b) => {
    // a constant schedule at the chosen rate makes the step use exactly that rate
    const lr = rateAt(st.s.step, b);
    st.s = g.trainingStep({ ...config, schedule: { kind: 'constant' }, optimizer: { ...config.optimizer, lr } }, st.buffers)(st.s, b) as g.TrainState; // no reuse: a value
    return { state: st, out: [st.s], done: st.s.divergence !== undefined };
  },
  flush: () => [],
});

/** Linear warm-up to `base` over `warmup` steps, then cosine decay to 0 over the remaining steps. */
export const warmupCosine =
  (base: number, warmup: number, totalSteps: number) =>
  (stepsDone: number): number =>
    stepsDone < warmup
      ? (base * (stepsDone + 1)) / warmup
      : (base * (1 + Math.cos((Math.PI * (stepsDone - warmup)) / Math.max(1, totalSteps - warmup)))) / 2;

/** Trains with a warm-up of `warmup` steps then cosine decay; returns every state's rate. */
export const trainWithWarmup = async (train: g.Dataset, warmup: number, o: ScheduleOptions = scheduleDefaults) => {
  const { config, initial, batches } = start(train, o);
  const rate = warmupCosine(o.lr, warmup, o.epochs * config.batchesPerEpoch!);
  const rates: number[] = [];
  const last = await lastValueFrom(from(batches).pipe(g.rx(trainStepWithRate(rate, config, initial)), g.rx(g.tap((s) => rates.push(s.lr)))));
  return { last, rates };
};
