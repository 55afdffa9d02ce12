/**
 * The browser benchmark (a script, not a test): `npm run bench:web [-- options]`.
 *
 * In one headless Chromium (Debian's /usr/bin/chromium, or GRADPIPE_CHROMIUM, driven by puppeteer-core), on
 * a page served cross-origin isolated by gradpipe serve's server, each system trains 784-H-10 (ReLU,
 * softmax cross-entropy, SGD lr 0.1, float32, the same He initialisation) on the same batches of real MNIST
 * (gradpipe's `epochBatches` of the first warmup + samples images) in a fresh dedicated Worker:
 *   gradpipe   gradpipe's wasm backend on navigator.hardwareConcurrency threads, through the pipeline's stages;
 *   jax        jax-js's wasm device (its own worker pool), one jit(valueAndGrad) step;
 *   tfjs       TensorFlow.js's wasm backend as it configures itself (its thread count);
 *   tfjs-all   the same with setThreadsCount(navigator.hardwareConcurrency).
 * Samples/s of the timed part (after the warm-up), median of --reps repetitions; the systems take turns
 * within a repetition (in reverse order every other one), and a ratio is the median of the per-repetition
 * ratios, both sides measured in the same turn. The tail loss (mean of the last ten batches) shows that
 * every system did the same work.
 *
 * Options: --samples N (12800) --warmup N (1280) --batches 128 --hidden 1000 --reps N (3)
 *   --systems gradpipe,jax,tfjs[,tfjs-all] --json (only JSON on stdout; progress on stderr either way).
 * Needs `npm run build` (the wasm builds) and MNIST in ../shared/datasets/mnist.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import * as E from 'fp-ts/lib/Either.js';
import puppeteer from 'puppeteer-core';
import { startServer } from '../../src/cli/serve.js';
import { median, MNIST_DIR, type Job } from './common.js';
import { commit, load } from './machine.js';
import { formatTable, rate, ratio } from './table.js';
import type { BenchAnswer, BenchRequest, BrowserSystem } from './browser/protocol.js';

const SYSTEMS: readonly BrowserSystem[] = ['gradpipe', 'jax', 'tfjs', 'tfjs-all'];
/** tfjs-all is measured on request only: on 2 cores it ran 1 thread all the same (see docs/benchmarks.md). */
const DEFAULT_SYSTEMS: readonly BrowserSystem[] = ['gradpipe', 'jax', 'tfjs'];

const { values: opt } = parseArgs({
  options: {
    samples: { type: 'string', default: '12800' },
    warmup: { type: 'string', default: '1280' },
    batches: { type: 'string', default: '128' },
    hidden: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
    systems: { type: 'string', default: DEFAULT_SYSTEMS.join(',') },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const whole = (name: string, t: string): number => {
  const n = Number(t);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: '${t}' is not a whole number`);
  return n;
};
const samples = whole('samples', opt.samples);
const warmup = whole('warmup', opt.warmup);
const hidden = whole('hidden', opt.hidden);
const reps = Math.max(1, whole('reps', opt.reps));
const batches = opt.batches.split(',').map((t) => whole('batches', t));
const systems = opt.systems.split(',').map((s) => {
  if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: '${s}' is not one of ${SYSTEMS.join(', ')}`);
  return s as BrowserSystem;
});
for (const b of batches) {
  if (b < 1 || samples % b !== 0 || warmup % b !== 0) throw new Error(`--samples and --warmup must be multiples of every batch size (${b})`);
}
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = join(ROOT, 'dist/bench-web');

/** The page and its Worker bundled for the browser (the browser side of every seam), with TensorFlow.js's wasm files beside them. */
const bundle = async (): Promise<void> => {
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'test/bench/browser/main.ts'), join(ROOT, 'test/bench/browser/worker.ts')],
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['gradpipe-source'],
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
  });
  copyFileSync(join(ROOT, 'test/bench/browser/index.html'), join(OUT, 'index.html'));
  const tfDist = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json').replace(/package\.json$/, 'dist/');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(tfDist, f), join(OUT, f));
};

interface Run {
  readonly system: BrowserSystem;
  readonly batch: number;
  readonly rep: number;
  readonly samplesPerSecond: number;
  readonly tailLoss: number;
  readonly digest: string;
  readonly description: string;
  readonly load: string;
}

await bundle();
const started = await startServer({ web: OUT, wasm: join(ROOT, 'dist/wasm'), data: MNIST_DIR }, 0);
if (E.isLeft(started)) throw new Error(started.left.message);
const { server, url } = started.right;
const executablePath = process.env['GRADPIPE_CHROMIUM'] ?? '/usr/bin/chromium';
const browser = await puppeteer.launch({ executablePath, args: ['--no-sandbox'], headless: true });
const runs: Run[] = [];
let env: { version: string; isolated: boolean; cores: number } | undefined;
try {
  const page = await browser.newPage();
  page.on('console', (m) => log(`  [page] ${m.text()}`));
  page.on('response', (r) => void (r.ok() || log(`  [page] ${r.status()} ${r.url()}`)));
  await page.goto(url);
  await page.waitForFunction("document.body.dataset.state === 'ready'");
  env = { version: await browser.version(), ...((await page.evaluate('({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency })')) as { isolated: boolean; cores: number }) };
  if (!env.isolated) throw new Error('the bench page is not cross-origin isolated');
  log(`${env.version}, cross-origin isolated, hardwareConcurrency ${env.cores}; ${cpus().length} cores, load ${load()}`);
  for (const batch of batches) {
    const job: Job = { hidden, batch, warmup, samples };
    for (let rep = 0; rep < reps; rep++) {
      for (const system of rep % 2 === 0 ? systems : [...systems].reverse()) {
        const request: BenchRequest = { system, job };
        const a = await page.evaluate((r: BenchRequest) => (globalThis as unknown as { bench: (r: BenchRequest) => Promise<BenchAnswer> }).bench(r), request);
        if (!a.ok) throw new Error(`${system}, batch ${batch}: ${a.message}`);
        const run: Run = { system, batch, rep, samplesPerSecond: a.samples / a.seconds, tailLoss: a.tailLoss, digest: a.digest, description: a.description, load: load() };
        runs.push(run);
        log(`batch ${batch} rep ${rep + 1}/${reps} ${system.padEnd(8)} ${rate(run.samplesPerSecond).padStart(7)} samples/s  tail loss ${a.tailLoss.toFixed(4)}  ${a.digest}  (${a.description}; load ${run.load})`);
      }
    }
  }
} finally {
  await browser.close();
  server.close();
  server.closeAllConnections();
}

const of = (system: BrowserSystem, batch: number): Run[] => runs.filter((r) => r.system === system && r.batch === batch).sort((a, b) => a.rep - b.rep);
/** The median over repetitions of gradpipe's samples/s over `system`'s in the same repetition. */
const paired = (system: BrowserSystem, batch: number): number => {
  const g = of('gradpipe', batch);
  const s = of(system, batch);
  return median(g.map((r, i) => r.samplesPerSecond / (s[i]?.samplesPerSecond ?? NaN)));
};
const rows = systems.flatMap((system) =>
  batches.map((batch) => {
    const rs = of(system, batch);
    const sps = rs.map((r) => r.samplesPerSecond);
    return {
      system,
      batch,
      description: rs[0]!.description,
      median: median(sps),
      min: Math.min(...sps),
      max: Math.max(...sps),
      tailLoss: rs[0]!.tailLoss,
      digests: [...new Set(rs.map((r) => r.digest))],
      gradpipeOver: system === 'gradpipe' ? 1 : paired(system, batch),
    };
  }),
);
const result = { date: new Date().toISOString().slice(0, 10), commit: commit(), browser: env, job: { hidden, samples, warmup, reps }, rows, runs };
if (opt.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  console.log(`${env?.version ?? 'Chromium'}, cross-origin isolated, hardwareConcurrency ${env?.cores}; 784-${hidden}-10, ${samples} timed samples after ${warmup}, median of ${reps} (commit ${result.commit}, ${result.date})\n`);
  console.log(
    formatTable(
      ['system', 'batch', 'samples/s, median [min-max]', 'gradpipe / it (paired median)', 'tail loss', 'weights (sha-256)'],
      rows.map((r) => [r.description, String(r.batch), `${rate(r.median)} [${rate(r.min)}-${rate(r.max)}]`, r.system === 'gradpipe' ? '-' : ratio(r.gradpipeOver), r.tailLoss.toFixed(4), r.digests.join(', ')]),
    ),
  );
}
