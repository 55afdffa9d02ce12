/**
 * The training benchmark (a script, not a test): `npm run bench [-- options]`.
 *
 * 1. Throughput: 784-1000-10 (ReLU, softmax cross-entropy, SGD lr 0.1, float32, the same seeded He init)
 *    on real MNIST at batch 32 and 128, for every available gradpipe backend and thread count and, in the
 *    same run and on the same batches, TensorFlow.js (WASM and pure-JS CPU backends) and numpy. Each
 *    figure is samples/s of the training loop after a warm-up, the median of --reps repetitions; the
 *    systems take turns within each repetition (in reverse order every other one), and ratios are medians
 *    of per-repetition ratios, so a change in the machine's load hits both sides of a ratio alike.
 * 2. Scaling: hidden width 100, 300, 1000, 3000 at batch 128, and one pass over 10k, 30k, 60k examples.
 * 3. Accuracy: the default `gradpipe train` run (seconds, test accuracy, peak RSS), and the time the
 *    default pipeline takes to first reach 98% test accuracy.
 *
 * Options: --samples N (12800) --warmup N (1280) --small-samples N (1280) --small-warmup N (256)
 *   [the small counts are for the slow systems: gradpipe ts and TensorFlow.js CPU] --reps N (3)
 *   --batches 32,128 --systems id,... --parts throughput,scaling,accuracy --widths 100,300,1000,3000
 *   --sizes 10000,30000,60000 --json (only JSON on stdout; progress goes to stderr either way)
 *   --save FILE (also write the JSON to FILE).
 * OpenBLAS environment variables are left as they are: numpy and the native backend share them.
 */
import * as E from 'fp-ts/lib/Either.js';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/data/dataset.js';
import { resolveBackend } from '../../src/tensor/select.js';
import { defaultRun, timeTo98, type DefaultRun, type TimeTo98 } from './accuracy.js';
import { flatten, initialNetwork, median, MNIST_DIR, type Job } from './common.js';
import { commit, describeMachine, load, staleBuilds, type Machine } from './machine.js';
import { measure, med, pairedRatio, type Cell, type MeasureOptions } from './measure.js';
import { medianProfile, profileStep, type StepProfile } from './profile.js';
import { numpyTimeTo98 } from './numpy.js';
import { startSystems } from './systems.js';
import { defaultTrainOptions } from '../../pipelines/mnist.js';
import { formatTable, ratio, rate } from './table.js';
import { matMulRates, useTf } from './tfjs.js';

const { values: opt } = parseArgs({
  options: {
    samples: { type: 'string', default: '12800' },
    warmup: { type: 'string', default: '1280' },
    'small-samples': { type: 'string', default: '1280' },
    'small-warmup': { type: 'string', default: '256' },
    reps: { type: 'string', default: '3' },
    batches: { type: 'string', default: '32,128' },
    systems: { type: 'string' },
    parts: { type: 'string', default: 'throughput,profile,scaling,accuracy' },
    widths: { type: 'string', default: '100,300,1000,3000' },
    sizes: { type: 'string', default: '10000,30000,60000' },
    json: { type: 'boolean', default: false },
    save: { type: 'string' },
  },
  strict: true,
});

const ints = (name: string, text: string): number[] =>
  text.split(',').map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: '${t}' is not a whole number`);
    return n;
  });
const one = (name: string, text: string): number => ints(name, text)[0]!;

const samples = one('samples', opt.samples);
const warmup = one('warmup', opt.warmup);
const smallSamples = one('small-samples', opt['small-samples']);
const smallWarmup = one('small-warmup', opt['small-warmup']);
const reps = Math.max(1, one('reps', opt.reps));
const batches = ints('batches', opt.batches);
const parts = new Set(opt.parts.split(','));
for (const b of batches) {
  for (const [name, n] of [['samples', samples], ['warmup', warmup], ['small-samples', smallSamples], ['small-warmup', smallWarmup]] as const) {
    if (b < 1 || n % b !== 0) throw new Error(`--${name} ${n} must be a multiple of every batch size (${b})`);
  }
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
// TensorFlow.js greets Node users on stdout; keep stdout for the tables and the JSON
console.log = (...args: unknown[]) => console.error(...args);

const machine: Machine = describeMachine();
const cores = machine.cores;
const threadCounts = [...new Set([1, cores])];

const main = async (): Promise<void> => {
  const started = new Date();
  const loadAtStart = load();
  log(`gradpipe training benchmark, ${started.toISOString()}, ${cores} cores, load average ${loadAtStart}`);
  const loaded = await loadMnist(MNIST_DIR);
  if (E.isLeft(loaded)) throw new Error(`${loaded.left.where}: ${loaded.left.message} (${loaded.left.hint})`);
  const data = loaded.right;
  const auto = await resolveBackend('auto');
  if (E.isLeft(auto)) throw new Error(auto.left.message);
  const wanted = opt.systems ? new Set(opt.systems.split(',')) : undefined;
  const { systems: all, backends, skipped } = await startSystems(machine);
  const systems = all.filter((s) => !wanted || wanted.has(s.id));
  const mopts: MeasureOptions = { reps, data, evalBackend: auto.right.backend, log };
  const bigJob = (batch: number): Job => ({ hidden: 1000, batch, warmup, samples });
  const smallJob = (batch: number): Job => ({ hidden: 1000, batch, warmup: smallWarmup, samples: smallSamples });

  const result: Record<string, unknown> = {
    date: started.toISOString(),
    command: `node dist/test/bench/train.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit: commit(),
    machine,
    loadAtStart,
    defaultBackend: auto.right.why,
    settings: { samples, warmup, smallSamples, smallWarmup, reps, batches },
    skipped,
  };
  const print = (text: string) => {
    if (!opt.json) process.stdout.write(`${text}\n`);
  };
  print(`# gradpipe training benchmark (${started.toISOString()})`);
  print(`command: ${result['command']}`);
  print(`commit: ${result['commit'] as string}`);
  print(`machine: ${cores} cores, ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  print(`OpenBLAS package: ${machine.openblasPackage}; numpy: ${machine.numpy}`);
  print(`environment: ${Object.entries(machine.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  print(`default backend: ${auto.right.why}`);
  print(`load average at start: ${loadAtStart}`);
  for (const s of skipped) print(`skipped: ${s}`);
  const stale = staleBuilds();
  result['staleBuilds'] = stale;
  for (const w of stale) {
    print(`WARNING: ${w}`);
    log(`WARNING: ${w}`);
  }
  print('systems:');
  for (const s of systems) print(`  ${s.id.padEnd(10)} ${s.description}`);

  let throughput: Cell[] = [];
  if (parts.has('throughput')) {
    const cells = await measure(systems, (s) => batches.map((b) => (s.small ? smallJob(b) : bigJob(b))), mopts, 'throughput');
    const find = (id: string, batch: number) => cells.find((c) => c.system === id && c.job.batch === batch);
    print(`\n## Throughput: 784-1000-10, SGD lr 0.1, float32, samples/s of the training loop (median of ${reps}; min-max in brackets)`);
    print(`${samples} timed samples after ${warmup} warm-up (ts and TensorFlow.js CPU: ${smallSamples} after ${smallWarmup}); load average ${load()} at the end`);
    const spread = (c: Cell | undefined) => (c ? `${rate(med(c))} [${rate(Math.min(...c.runs.map((r) => r.samplesPerSecond)))}-${rate(Math.max(...c.runs.map((r) => r.samplesPerSecond)))}]` : '-');
    print(
      formatTable(
        ['system', 'id', ...batches.map((b) => `batch ${b}`), ...batches.map((b) => `test acc. / tail loss (b${b})`)],
        systems.map((s) => [
          s.label,
          s.id,
          ...batches.map((b) => spread(find(s.id, b))),
          ...batches.map((b) => {
            const c = find(s.id, b);
            return c ? `${(100 * c.testAccuracy).toFixed(2)}% / ${c.tailLoss.toFixed(4)}` : '-';
          }),
        ]),
      ),
    );
    const others = systems.filter((s) => s.family !== 'gradpipe');
    const ours = systems.filter((s) => s.family === 'gradpipe');
    print(`\n## Ratios gradpipe / other (median of per-repetition ratios), batch ${batches.join(' / ')}`);
    print(formatTable(['gradpipe', ...others.map((o) => o.id)], ours.map((g) => [g.id, ...others.map((o) => batches.map((b) => ratio(pairedRatio(find(g.id, b), find(o.id, b)))).join(' / '))])));
    const identity = [
      ...['wasm', 'native'].flatMap((k) =>
        batches.map((b) => {
          const [x, y] = threadCounts.map((t) => find(`${k}-${t}`, b));
          if (!x || !y || x === y) return undefined;
          const same = x.digests.every((d) => d === y.digests[0]) && y.digests.every((d) => d === y.digests[0]);
          return { backend: k, batch: b, identical: same, digests: [x.digests[0], y.digests[0]], speedup: pairedRatio(y, x) };
        }),
      ),
    ].filter((x) => x !== undefined);
    print(`\n## 1 thread vs ${cores} threads: trained parameters (SHA-256 prefix) and speed-up`);
    for (const i of identity) print(`${i.backend} batch ${i.batch}: ${i.identical ? 'bit-identical' : 'DIFFERENT'} (${i.digests.join(' vs ')}), speed-up x${i.speedup.toFixed(2)}`);
    result['throughput'] = cells.map((c) => ({ ...c, median: med(c) }));
    throughput = cells;
    result['ratios'] = ours.flatMap((g) => others.flatMap((o) => batches.map((b) => ({ gradpipe: g.id, other: o.id, batch: b, ratio: pairedRatio(find(g.id, b), find(o.id, b)) }))));
    result['threadIdentity'] = identity;
  }

  if (parts.has('profile')) {
    const profiles: (StepProfile & { id: string })[] = [];
    const ours = systems.filter((s) => s.family === 'gradpipe' && !s.small);
    for (const batch of batches) {
      for (const s of ours) {
        const b = s.backend!;
        log(`profile: ${s.id} batch ${batch}, load average ${load()}`);
        const runs: StepProfile[] = [];
        for (let r = 0; r < reps; r++) runs.push(await profileStep(b, data.train, { hidden: 1000, batch, warmup, samples }, r === 0));
        profiles.push({ id: s.id, ...medianProfile(runs) });
      }
    }
    const ms = (x: number) => x.toFixed(2);
    print(`\n## Where a step goes: milliseconds per step (784-1000-10, ${samples} samples after ${warmup} warm-up; median of ${reps} runs, column by column)`);
    print(
      formatTable(
        ['backend', 'batch', 'step', 'gemm', 'biasActivation', 'activationBackward', 'fused optimiser update', 'gather and bias gradient', 'GC pauses', 'rest (JS outside kernels)', 'kernels % of step'],
        profiles.map((p) => {
          const k = p.kernels.gemm + p.kernels.biasActivation + p.kernels.activationBackward + p.kernels.optimizerUpdates + p.kernels.other;
          return [p.id, String(p.batch), ms(p.step), ms(p.kernels.gemm), ms(p.kernels.biasActivation), ms(p.kernels.activationBackward), ms(p.kernels.optimizerUpdates), ms(p.kernels.other), ms(p.gc), ms(p.rest), `${((100 * k) / p.step).toFixed(0)}%`];
        }),
      ),
    );
    for (const batch of batches) {
      const ps = profiles.filter((x) => x.batch === batch);
      if (ps.length === 0) continue;
      const names = [...new Set(ps.flatMap((p) => p.pieces.map((x) => x.name)))];
      print(`\nThe rest, piece by piece at batch ${batch} (milliseconds per call, median of 30, timed alone with the backend in use):`);
      print(formatTable(['piece', ...ps.map((p) => p.id)], names.map((n) => [n, ...ps.map((p) => p.pieces.find((x) => x.name === n)?.ms.toFixed(3) ?? '-')])));
    }
    const numpyUpdates = throughput.filter((c) => c.family === 'numpy' && c.updateMs.length > 0);
    if (numpyUpdates.length > 0) {
      print(`\nFor comparison, numpy's in-place update (w -= lr * dw, all four tensors) inside its timed steps, milliseconds per step (median of ${reps}, throughput part):`);
      print(formatTable(['numpy', 'batch', 'update ms per step'], numpyUpdates.map((c) => [c.system, String(c.job.batch), median(c.updateMs).toFixed(3)])));
    }
    const tf = systems.some((s) => s.id === 'tfjs-wasm') ? await useTf('wasm') : 'not measured';
    if (typeof tf !== 'string') {
      const rates = matMulRates(tf.tf);
      print(`\nTensorFlow.js WASM matMul on the shapes of a batch-128 step (GFLOP/s, median of 20 calls):`);
      print(formatTable(['product', 'GFLOP/s'], rates.map((r) => [r.label, r.gflops.toFixed(1)])));
      result['tfjsMatMul'] = rates;
    }
    result['profile'] = profiles;
  }

  if (parts.has('scaling')) {
    const defaultId = `${auto.right.backend.name}-${auto.right.backend.threads}`;
    const scalingIds = [...new Set([defaultId, `wasm-${cores}`, `numpy-${cores}`])];
    const scaling = systems.filter((s) => scalingIds.includes(s.id));
    const widths = ints('widths', opt.widths);
    const sizes = ints('sizes', opt.sizes);
    const wCells = await measure(scaling, () => widths.map((h) => ({ hidden: h, batch: 128, warmup, samples })), mopts, 'scaling: width');
    const flops = (h: number) => 2 * (2 * (784 + 10) * h + 10 * h);
    print(`\n## Cost by hidden width: 784-H-10, batch 128, samples/s (median of ${reps}) and GFLOP/s (${(flops(1) / 1e6).toFixed(4)} MFLOP per sample per hidden unit)`);
    const wRow = (h: number) => [String(h), (flops(h) / 1e6).toFixed(2), ...scaling.map((s) => {
      const c = wCells.find((x) => x.system === s.id && x.job.hidden === h);
      return c ? `${rate(med(c))} (${((med(c) * flops(h)) / 1e9).toFixed(1)})` : '-';
    })];
    print(formatTable(['hidden', 'MFLOP/sample', ...scaling.map((s) => s.id)], widths.map(wRow)));
    const sCells = await measure(scaling, () => sizes.map((n) => ({ hidden: 1000, batch: 128, warmup: 0, samples: Math.floor(n / 128) * 128 })), mopts, 'scaling: epoch');
    print(`\n## Time per epoch: 784-1000-10, batch 128, one pass over the first N training examples (full batches), seconds (median of ${reps})`);
    print(
      formatTable(
        ['examples', ...scaling.map((s) => s.id)],
        sizes.map((n) => [String(n), ...scaling.map((s) => {
          const c = sCells.find((x) => x.system === s.id && x.job.samples === Math.floor(n / 128) * 128);
          return c ? `${median(c.runs.map((r) => r.seconds)).toFixed(2)} s` : '-';
        })]),
      ),
    );
    print(`load average at the end: ${load()}`);
    result['scaling'] = { width: wCells.map((c) => ({ ...c, median: med(c) })), epoch: sCells.map((c) => ({ ...c, medianSeconds: median(c.runs.map((r) => r.seconds)) })) };
  }

  if (parts.has('accuracy')) {
    const runs: (DefaultRun | { failed: string })[] = [];
    const to98: (TimeTo98 & { id: string; load: string })[] = [];
    const names = ['wasm', ...(backends.some((b) => b.name === 'native') ? ['native'] : [])];
    const loads: string[] = [];
    for (const name of names) {
      log(`accuracy: default gradpipe train --backend ${name}, load average ${load()}`);
      loads.push(load());
      const r = defaultRun(name);
      runs.push(typeof r === 'string' ? { failed: r } : r);
    }
    for (const name of names) {
      const b = backends.find((x) => x.name === name && x.threads === cores);
      if (!b) continue;
      log(`accuracy: time to 98% test accuracy on ${b.description}, load average ${load()}`);
      const l = load();
      to98.push({ id: `${name}-${cores}`, load: l, ...(await timeTo98(b, data)) });
    }
    if (systems.some((s) => s.family === 'numpy')) {
      // numpy trained as the default pipeline is (momentum, cosine lr, batch, epochs), right after gradpipe's runs
      const { optimizer: o, batchSize, epochs } = defaultTrainOptions;
      log(`accuracy: time to 98% test accuracy on numpy, load average ${load()}`);
      const l = load();
      const r = numpyTimeTo98(flatten(initialNetwork(1000)), { hidden: 1000, batch: batchSize, epochs, lr: o.lr, momentum: o.momentum });
      to98.push({ id: `numpy-${cores}`, load: l, backend: `numpy ${machine.numpy}, OpenBLAS's default threads`, ...r });
    }
    print(`\n## Accuracy: the default pipeline (784-1000-10, momentum 0.9, lr 0.1 cosine, batch 128, 6 epochs)`);
    print(
      formatTable(
        ['command', 'train seconds', 'test accuracy', 'samples/s', 'peak RSS', 'load average at start'],
        runs.map((r, i) =>
          'failed' in r
            ? [r.failed, '-', '-', '-', '-', loads[i] ?? '']
            : [r.command, r.trainSeconds.toFixed(1), `${(100 * r.testAccuracy).toFixed(2)}%`, rate(r.samplesPerSecond), r.peakRssMiB === undefined ? '-' : `${r.peakRssMiB.toFixed(0)} MiB`, loads[i] ?? ''],
        ),
      ),
    );
    print(`\nTime to first reach 98% test accuracy (gradpipe: the default pipeline in-process, ${cores} threads; numpy: numpy_mlp.py trained the same way, its own shuffles; the test set is evaluated at every epoch end, included in the time):`);
    print(
      formatTable(
        ['backend', 'seconds to 98%', 'test accuracy after epoch (cumulative seconds)', 'load average at start'],
        to98.map((t) => [t.id, t.seconds === undefined ? 'not reached' : t.seconds.toFixed(1), t.epochs.map((e) => `${e.epoch}: ${(100 * e.testAccuracy).toFixed(2)}% (${e.seconds.toFixed(1)} s)`).join(', '), t.load]),
      ),
    );
    print(`load average at the end: ${load()}`);
    result['accuracy'] = { defaultRuns: runs.map((r, i) => ({ ...r, load: loads[i] })), timeTo98: to98 };
  }

  result['loadAtEnd'] = load();
  if (opt.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (opt.save) writeFileSync(opt.save, `${JSON.stringify(result, null, 2)}\n`);
  for (const b of backends) b.dispose();
  auto.right.backend.dispose();
};

await main();
// TensorFlow.js and OpenBLAS may leave handles open; the results are out
process.exit(0);
