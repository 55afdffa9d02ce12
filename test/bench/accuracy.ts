/**
 * The accuracy side of the benchmark: how long gradpipe's default pipeline (784-1000-10, momentum 0.9,
 * lr 0.1 with a cosine schedule, batch 128, 6 epochs) trains to reach 98% test accuracy.
 *
 * - `defaultRun`: the default `gradpipe train` (what `npm start` runs) as a child process with --json;
 *   its training seconds, final test accuracy and peak RSS (from /usr/bin/time, when present).
 * - `timeTo98`: the same pipeline through `trainMnist`, given the training set followed by the test set
 *   and `validation: 10000`, so the validation split is exactly the test set and the training data is
 *   exactly the 60,000 training images; it stops at the first epoch end with 98% test accuracy. Its time
 *   includes evaluating the 10,000 test images at every epoch end (a fraction of a second each).
 */
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../../src/data/dataset.js';
import type { Backend } from '../../src/tensor/backend.js';
import { setBackend } from '../../src/tensor/registry.js';
import { defaultTrainOptions, trainMnist } from '../../pipelines/mnist.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TIME = '/usr/bin/time';

export interface DefaultRun {
  readonly backend: string;
  readonly description: string;
  readonly trainSeconds: number;
  readonly testAccuracy: number;
  readonly samplesPerSecond: number;
  /** Peak resident set of the whole process, MiB (undefined without /usr/bin/time). */
  readonly peakRssMiB: number | undefined;
  readonly command: string;
}

/** `gradpipe train --json --backend <backend>` with every other option at its default. */
export const defaultRun = (backend: string, threads?: number): DefaultRun | string => {
  if (!existsSync(CLI)) return `the CLI is not built (${CLI})`;
  const out = mkdtempSync(join(tmpdir(), 'gradpipe-bench-run-'));
  try {
    const args = [CLI, 'train', '--json', '--quiet', '--backend', backend, ...(threads === undefined ? [] : ['--threads', String(threads)]), '--out', join(out, 'run')];
    const timed = existsSync(TIME);
    const r = timed ? spawnSync(TIME, ['-f', 'maxrss-kib %M', process.execPath, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }) : spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) return `gradpipe train --backend ${backend} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    const summary = JSON.parse(r.stdout) as { trainSeconds: number; testAccuracy: number; samplesPerSecond: number; backendDescription: string };
    const rss = /maxrss-kib (\d+)/.exec(r.stderr);
    return {
      backend,
      description: summary.backendDescription,
      trainSeconds: summary.trainSeconds,
      testAccuracy: summary.testAccuracy,
      samplesPerSecond: summary.samplesPerSecond,
      peakRssMiB: rss ? Number(rss[1]) / 1024 : undefined,
      command: `${timed ? '/usr/bin/time -f %M ' : ''}node dist/src/cli/main.js train --json --quiet --backend ${backend}${threads === undefined ? '' : ` --threads ${threads}`} --out DIR`,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
};

export interface TimeTo98 {
  readonly backend: string;
  /** Seconds of training (and per-epoch test evaluation) until the first epoch end at >= 98%, if reached. */
  readonly seconds: number | undefined;
  readonly epochs: readonly { readonly epoch: number; readonly seconds: number; readonly testAccuracy: number }[];
}

const concat = (a: Dataset, b: Dataset): Dataset => {
  const images = new Uint8Array(a.images.length + b.images.length);
  images.set(a.images);
  images.set(b.images, a.images.length);
  const labels = new Uint8Array(a.labels.length + b.labels.length);
  labels.set(a.labels);
  labels.set(b.labels, a.labels.length);
  return { ...a, count: a.count + b.count, images, labels };
};

/** The default pipeline on `backend`, stopping at the first epoch end with 98% test accuracy. */
export const timeTo98 = async (backend: Backend, data: { train: Dataset; test: Dataset }): Promise<TimeTo98> => {
  const previous = setBackend(backend);
  try {
    const epochs: { epoch: number; seconds: number; testAccuracy: number }[] = [];
    let elapsed = 0;
    const r = await trainMnist(
      { train: concat(data.train, data.test), test: data.test },
      { ...defaultTrainOptions, validation: data.test.count, targetAccuracy: 0.98 },
      {
        onEpoch: (e) => {
          elapsed += e.seconds;
          epochs.push({ epoch: e.epoch + 1, seconds: elapsed, testAccuracy: e.validationAccuracy ?? NaN });
        },
      },
    );
    if (E.isLeft(r)) throw new Error(r.left.message);
    const hit = epochs.find((e) => e.testAccuracy >= 0.98);
    return { backend: backend.description, seconds: hit ? r.right.trainSeconds : undefined, epochs };
  } finally {
    setBackend(previous);
  }
};
