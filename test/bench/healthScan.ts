/**
 * What the health scan during training costs (a script, not a test): the default configuration
 * (784-1000-10, momentum 0.9, batch 128) on real MNIST, timed in one process, alternating: R rounds of
 * `--steps` training steps through `trainStep` (reused buffers, as the pipeline runs it), then the scan the
 * pipeline runs (`scanProbe` on the doctor's 256-example probe) `--scans` times on the trained network. The
 * default run does 469 steps per epoch for 6 epochs and 7 scans (one early, one per epoch end); the cost is
 * scans x (seconds per scan) / (steps x seconds per step), the median over rounds of per-round ratios.
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/healthScan.js [--backend native|wasm|ts] [--steps N] [--scans N] [--reps N]
 */
import { parseArgs } from 'node:util';
import { from, lastValueFrom } from 'rxjs';
import { DOCTOR_DEFAULTS } from '../../src/diagnostics/doctor.js';
import { scanProbe } from '../../src/diagnostics/probe.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { toBatch } from '../../src/stages/batch.js';
import { readDataset, takeDataset } from '../../src/stages/read.js';
import { rx } from '../../src/stages/stage.js';
import { trainStep } from '../../src/stages/trainStep.js';
import { BACKEND_CHOICES, type BackendChoice } from '../../src/tensor/select.js';
import { defaultTrainOptions } from '../../pipelines/mnist.js';
import { benchSetup, initialNetwork, jobBatches, median, type Job } from './common.js';

const { values: opt } = parseArgs({
  options: { backend: { type: 'string', default: 'auto' }, steps: { type: 'string', default: '200' }, scans: { type: 'string', default: '5' }, reps: { type: 'string', default: '3' } },
  strict: true,
});
const choice = opt.backend as BackendChoice;
if (!BACKEND_CHOICES.includes(choice)) throw new Error(`--backend: '${opt.backend}' is not one of ${BACKEND_CHOICES.join(', ')}`);
const steps = Number(opt.steps);
const scans = Number(opt.scans);
const reps = Number(opt.reps);
const o = defaultTrainOptions;

const { data, backend } = await benchSetup(choice);
const job: Job = { hidden: 1000, batch: o.batchSize, warmup: 0, samples: steps * o.batchSize };
const probe = toBatch([...readDataset(takeDataset(data.train, 0, DOCTOR_DEFAULTS.probe))], 10);

const perStep: number[] = [];
const perScan: number[] = [];
for (let r = 0; r < reps; r++) {
  let last: StateView | undefined;
  const t0 = performance.now();
  await lastValueFrom(
    from(jobBatches(data.train, job)).pipe(
      rx(trainStep({ loss: o.loss, optimizer: o.optimizer, backend, reuseBuffers: true }, initialTrainState(initialNetwork(job.hidden), o.optimizer))),
    ),
    { defaultValue: undefined },
  ).then((s) => (last = s));
  perStep.push((performance.now() - t0) / 1000 / steps);
  const t1 = performance.now();
  for (let k = 0; k < scans; k++) scanProbe(o, probe, last!.network);
  perScan.push((performance.now() - t1) / 1000 / scans);
}
const perEpoch = Math.ceil(60000 / o.batchSize);
const costs = perStep.map((s, i) => (7 * perScan[i]!) / (6 * perEpoch * s));
console.log(backend.description);
console.log(`784-1000-10, ${o.optimizer.kind}, batch ${o.batchSize}; ${steps} steps and ${scans} scans of ${DOCTOR_DEFAULTS.probe} examples per round, ${reps} rounds`);
console.log(`seconds per step: ${perStep.map((x) => x.toFixed(4)).join(', ')} (median ${median(perStep).toFixed(4)})`);
console.log(`seconds per scan: ${perScan.map((x) => x.toFixed(4)).join(', ')} (median ${median(perScan).toFixed(4)})`);
console.log(`default run (6 x ${perEpoch} steps, 7 scans): the scans cost ${(100 * median(costs)).toFixed(2)}% of the training steps' time (per round: ${costs.map((c) => `${(100 * c).toFixed(2)}%`).join(', ')})`);
