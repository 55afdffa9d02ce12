/**
 * The files of a training run's output folder, besides the checkpoint the pipeline writes:
 *   metrics.jsonl     one record per reporting interval and per epoch, appended as training goes
 *   model.safetensors the trained network (io/model.ts)
 *   summary.json      the figures of the run and its full configuration
 *   curves.svg        training/validation loss and accuracy per epoch
 *   confusion.svg     the test confusion matrix
 * Every file is written atomically (metrics by whole-line appends), so a crash never leaves half a file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { GradpipeError } from '../errors.js';
import { appendMetric, readMetrics, writeSummary, type MetricRecord } from '../io/metrics.js';
import { saveModel } from '../io/model.js';
import { writeFileAtomic } from '../io/atomic.js';
import { CHECKPOINT_FILE } from '../io/checkpoint.js';
import { onceSpaceIsFreed } from '../io/ioError.js';
import { confusionMatrixSvg, curvesSvg, type EpochCurves } from '../io/svg.js';
import type { Network } from '../nn/network.js';

export const FILES = {
  model: 'model.safetensors',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  curves: 'curves.svg',
  confusion: 'confusion.svg',
} as const;

/** Appends records to metrics.jsonl in order, without making the caller wait; `flush` awaits them all. */
export interface MetricsWriter {
  write(record: MetricRecord): void;
  /** Waits for every record written so far; the first failure, if any. */
  flush(): Promise<E.Either<GradpipeError, void>>;
}

/** A full disk's error with how to continue the run in `dir` once space is freed (from its checkpoint, when it has one). */
const keepingTheWork = (dir: string, e: GradpipeError): GradpipeError =>
  onceSpaceIsFreed(e, existsSync(join(dir, CHECKPOINT_FILE)) ? `gradpipe train --resume ${dir}` : undefined);

export const metricsWriter = (dir: string): MetricsWriter => {
  const file = join(dir, FILES.metrics);
  let queue: Promise<void> = Promise.resolve();
  let failure: GradpipeError | undefined;
  return {
    write: (record) => {
      queue = queue.then(async () => {
        if (failure) return;
        const r = await appendMetric(file, record);
        if (E.isLeft(r)) failure = r.left;
      });
    },
    flush: async () => {
      await queue;
      return failure ? E.left(keepingTheWork(dir, failure)) : E.right(undefined);
    },
  };
};

/** The per-epoch figures in `dir/metrics.jsonl` (the last record of each epoch wins, so a resumed run's history is whole). */
export const epochHistory = async (dir: string): Promise<EpochCurves[]> => {
  const read = await readMetrics(join(dir, FILES.metrics));
  if (E.isLeft(read)) return [];
  const byEpoch = new Map<number, EpochCurves>();
  for (const r of read.right.records) {
    if (r['kind'] !== 'epoch' || typeof r['epoch'] !== 'number') continue;
    const num = (k: string): number | undefined => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
    const epoch = r['epoch'] + 1;
    const e: Record<string, number> = { epoch };
    for (const k of ['trainLoss', 'trainAccuracy', 'validationLoss', 'validationAccuracy'] as const) {
      const v = num(k);
      if (v !== undefined) e[k] = v;
    }
    // the test set's held-out figures (a run without validation split), drawn as their own, display-only line
    if (r['heldOutSet'] === 'test') {
      const [loss, accuracy] = [num('heldOutLoss'), num('heldOutAccuracy')];
      if (loss !== undefined) e['testLoss'] = loss;
      if (accuracy !== undefined) e['testAccuracy'] = accuracy;
    }
    byEpoch.set(epoch, e as unknown as EpochCurves);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
};

export interface RunOutputs {
  readonly network: Network | undefined;
  readonly loss: string;
  /** Extra model metadata (strings). */
  readonly modelMeta: Readonly<Record<string, string>>;
  readonly summary: unknown;
  readonly history: readonly EpochCurves[];
  readonly confusion: readonly (readonly number[])[];
  readonly title: string;
}

/** `summary` with its `files` (name -> file) cut to the files that exist in `dir`. */
const listingExisting = (dir: string, summary: unknown): unknown => {
  if (typeof summary !== 'object' || summary === null || !('files' in summary)) return summary;
  const files = (summary as { files: Record<string, string> }).files;
  const kept = Object.entries(files).filter(([key, name]) => key === 'summary' || existsSync(join(dir, name)));
  return { ...summary, files: Object.fromEntries(kept) };
};

/**
 * Writes model (when given) and plots into `dir`, then the summary, whose `files` lists only what is on
 * disk (a full disk may have refused the model); the first failure, if any, with how to keep the work.
 */
export const writeRunOutputs = async (dir: string, o: RunOutputs): Promise<E.Either<GradpipeError, void>> => {
  const labels = o.confusion.map((_r, i) => String(i));
  const writes: Promise<E.Either<GradpipeError, void>>[] = [
    writeFileAtomic(join(dir, FILES.curves), curvesSvg(o.history, o.title)),
    writeFileAtomic(join(dir, FILES.confusion), confusionMatrixSvg(o.confusion, labels, 'Test confusion matrix')),
  ];
  if (o.network) writes.unshift(saveModel(join(dir, FILES.model), o.network, { loss: o.loss, extra: o.modelMeta }));
  const results = await Promise.all(writes);
  results.push(await writeSummary(join(dir, FILES.summary), listingExisting(dir, o.summary)));
  const failed = results.find(E.isLeft);
  return failed ? E.left(keepingTheWork(dir, failed.left)) : E.right(undefined);
};
