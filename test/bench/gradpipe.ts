/**
 * gradpipe's side of the training benchmark: the job's batches from `epochBatches` through the `trainStep`
 * stage as RxJS operators, exactly as pipelines/mnist.ts composes them, so the figure is what a user of the
 * pipeline gets (batch assembly from the uint8 images, forward, backward, optimiser step, the per-step
 * divergence checks; the step reuses its parameter buffers, as there). The clock starts when the last warm-up state is emitted and stops at the last one.
 */
import { from, lastValueFrom, tap } from 'rxjs';
import type { Dataset } from '../../src/data/dataset.js';
import { defaultOptimizer, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { rx } from '../../src/stages/stage.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import type { Backend } from '../../src/tensor/backend.js';
import { setBackend } from '../../src/tensor/registry.js';
import { flatten, initialNetwork, jobBatches, LR, mean, type Job, type Measurement } from './job.js';

export const SGD: OptimizerConfig = { ...defaultOptimizer, kind: 'sgd', lr: LR };

/**
 * Trains the job's network on `backend` through the pipeline's stages; times the steps after the warm-up.
 * `onTimed` is called when the clock starts (the profiler resets its counters there).
 */
export const runGradpipe = async (backend: Backend, train: Dataset, job: Job, onTimed?: () => void): Promise<Measurement> => {
  const previous = setBackend(backend);
  try {
    const warmSteps = job.warmup / job.batch;
    const losses: number[] = [];
    let t0 = performance.now();
    if (warmSteps === 0) onTimed?.();
    // borrowed batches, as pipelines/mnist.ts reads them (trainStep is done with each before the next)
    const states = from(jobBatches(train, job, true)).pipe(
      rx(trainStep({ loss: 'cross-entropy', optimizer: SGD, backend, reuseBuffers: true }, initialTrainState(initialNetwork(job.hidden), SGD))),
      tap((s: StateView) => {
        if (s.step === warmSteps) {
          onTimed?.();
          t0 = performance.now();
        }
        losses.push(s.loss);
      }),
    );
    const last = await lastValueFrom(states);
    const seconds = (performance.now() - t0) / 1000;
    if (last.divergence) throw new Error(`gradpipe ${backend.description}: ${last.divergence.message}`);
    return { seconds, samples: (last.step - warmSteps) * job.batch, tailLoss: mean(losses.slice(-10)), weights: flatten(last.network) };
  } finally {
    setBackend(previous);
  }
};
