/**
 * What `reuseBuffers` saves (a script, not a test): the default optimiser (momentum 0.9) on 784-1000-10 at
 * batch 128 through `trainStep`, with fresh parameter and moment buffers every step (reuseBuffers off)
 * and with the step's own two sets (on), alternating in one process so both see the same machine. With
 * `--inputs`, the same for the batches instead: reuseBuffers on in both, and `epochBatches`' `reuseInputs`
 * off (a new input array per batch) against on (two buffers of the stream, borrowed batches). Prints
 * samples/s, the garbage collector's pauses (count and milliseconds per step, from `gc` performance
 * entries), and the peak of the bytes held by ArrayBuffers (process.memoryUsage().arrayBuffers, sampled
 * after every step).
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/reuse.js [--backend wasm|native|ts] [--steps N] [--reps N] [--inputs]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { from, lastValueFrom, tap } from 'rxjs';
import { defaultOptimizer, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { rx } from '../../src/stages/stage.js';
import { initialTrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import { BACKEND_CHOICES, type BackendChoice } from '../../src/tensor/select.js';
import { benchSetup, initialNetwork, jobBatches, median, type Job } from './common.js';

const { values: opt } = parseArgs({
  options: { backend: { type: 'string', default: 'wasm' }, steps: { type: 'string', default: '400' }, reps: { type: 'string', default: '3' }, inputs: { type: 'boolean', default: false } },
  strict: true,
});
const choice = opt.backend as BackendChoice;
if (!BACKEND_CHOICES.includes(choice)) throw new Error(`--backend: '${opt.backend}' is not one of ${BACKEND_CHOICES.join(', ')}`);
const steps = Number(opt.steps);
const reps = Number(opt.reps);
const MOMENTUM: OptimizerConfig = { ...defaultOptimizer, kind: 'momentum', lr: 0.1, momentum: 0.9 };

const { data, backend } = await benchSetup(choice);
const job: Job = { hidden: 1000, batch: 128, warmup: 0, samples: steps * 128 };

interface Run {
  readonly samplesPerSecond: number;
  readonly gcCount: number;
  readonly gcMsPerStep: number;
  readonly peakArrayBuffers: number;
}

/** A run with the mode on or off: reuseBuffers, or with --inputs reuseInputs (reuseBuffers on). */
const run = async (on: boolean): Promise<Run> => {
  const reuseBuffers = opt.inputs || on;
  const gcs: number[] = [];
  const obs = new PerformanceObserver((list) => list.getEntries().forEach((e) => gcs.push(e.duration)));
  obs.observe({ entryTypes: ['gc'] });
  let peak = 0;
  const t0 = performance.now();
  await lastValueFrom(
    from(jobBatches(data.train, job, opt.inputs && on)).pipe(
      rx(trainStep({ loss: 'cross-entropy', optimizer: MOMENTUM, backend, reuseBuffers }, initialTrainState(initialNetwork(job.hidden), MOMENTUM))),
      tap(() => void (peak = Math.max(peak, process.memoryUsage().arrayBuffers))),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return { samplesPerSecond: job.samples / seconds, gcCount: gcs.length, gcMsPerStep: gcs.reduce((s, d) => s + d, 0) / steps, peakArrayBuffers: peak };
};

const results: Record<'off' | 'on', Run[]> = { off: [], on: [] };
for (let r = 0; r < reps; r++) {
  for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) results[mode].push(await run(mode === 'on'));
}
const mid = (xs: number[]) => median(xs);
console.log(`${backend.description}`);
console.log(`784-1000-10, momentum 0.9, batch 128, ${steps} steps per run, median of ${reps} runs (alternating)`);
console.log(`| ${opt.inputs ? 'reuseInputs (reuseBuffers on)' : 'reuseBuffers'} | samples/s | GC pauses per run | GC ms per step | peak ArrayBuffer bytes |`);
console.log('|---|---|---|---|---|');
for (const mode of ['off', 'on'] as const) {
  const rs = results[mode];
  console.log(
    `| ${mode} | ${Math.round(mid(rs.map((x) => x.samplesPerSecond))).toLocaleString('en-US')} | ${mid(rs.map((x) => x.gcCount))} | ${mid(rs.map((x) => x.gcMsPerStep)).toFixed(3)} | ${(mid(rs.map((x) => x.peakArrayBuffers)) / 2 ** 20).toFixed(0)} MiB |`,
  );
}
backend.dispose();
