/**
 * Running systems side by side: every system on every job, `reps` times, the systems taking turns within a
 * repetition (in reverse order every other one, so a drift in the machine's load evens out). A `Cell` holds
 * one system's figures on one job; ratios pair the repetitions, both sides measured within the same turn.
 */
import type { Dataset } from '../../src/data/dataset.js';
import { evaluate } from '../../src/stages/evaluate.js';
import type { Backend } from '../../src/tensor/backend.js';
import { digest, median, unflatten, type Job } from './common.js';
import { load } from './machine.js';
import { contextFor, type Family, type System } from './systems.js';
import { rate } from './table.js';

export interface Cell {
  readonly system: string;
  readonly label: string;
  readonly family: Family;
  readonly threads: number;
  readonly job: Job;
  readonly runs: { samplesPerSecond: number; seconds: number; load: string }[];
  tailLoss: number;
  /** Test accuracy of the parameters trained in the first repetition. */
  testAccuracy: number;
  digests: string[];
  /** Milliseconds per step spent in parameter updates, per repetition (systems that report it). */
  updateMs: number[];
}

export interface MeasureOptions {
  readonly reps: number;
  readonly data: { readonly train: Dataset; readonly test: Dataset };
  /** Evaluates the trained parameters (the same backend for every system). */
  readonly evalBackend: Backend;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** Every system on the jobs `jobsFor` gives it, `opts.reps` times. */
export const measure = async (systems: readonly System[], jobsFor: (s: System) => readonly Job[], opts: MeasureOptions, tag: string): Promise<Cell[]> => {
  const { reps, data, log } = opts;
  const cells = new Map<string, Cell>();
  const contexts = new Map<string, ReturnType<typeof contextFor>>();
  const ctx = (job: Job) => {
    const key = JSON.stringify(job);
    if (!contexts.has(key)) contexts.set(key, contextFor(data.train, job));
    return contexts.get(key)!;
  };
  const accuracy = (weights: Float32Array, job: Job): number =>
    evaluate(unflatten(weights, job.hidden), data.test, { loss: 'cross-entropy', batchSize: 1000, backend: opts.evalBackend }).accuracy;
  for (let rep = 0; rep < reps; rep++) {
    log(`${tag}: repetition ${rep + 1}/${reps}, load average ${load()}`);
    for (const s of rep % 2 === 0 ? systems : [...systems].reverse()) {
      for (const job of jobsFor(s)) {
        const key = `${s.id} ${JSON.stringify(job)}`;
        const l = load();
        const m = await s.run(job, ctx(job));
        const sps = m.samples / m.seconds;
        log(`  ${s.id.padEnd(10)} hidden ${job.hidden} batch ${String(job.batch).padStart(3)} ${String(m.samples).padStart(6)} samples: ${rate(sps).padStart(8)} samples/s (${m.seconds.toFixed(2)} s), tail loss ${m.tailLoss.toFixed(4)}`);
        const cell = cells.get(key) ?? { system: s.id, label: s.label, family: s.family, threads: s.threads, job, runs: [], tailLoss: m.tailLoss, testAccuracy: NaN, digests: [], updateMs: [] };
        if (m.updateSeconds !== undefined) cell.updateMs.push((1000 * m.updateSeconds * job.batch) / m.samples);
        if (rep === 0) cell.testAccuracy = accuracy(m.weights, job);
        cell.runs.push({ samplesPerSecond: sps, seconds: m.seconds, load: l });
        cell.digests.push(digest(m.weights));
        cells.set(key, cell);
      }
    }
  }
  for (const c of contexts.values()) c.dispose();
  return [...cells.values()];
};

/** Median samples/s of a cell (NaN when absent). */
export const med = (c: Cell | undefined): number => (c ? median(c.runs.map((r) => r.samplesPerSecond)) : NaN);

/** Median over repetitions of a/b, pairing the repetitions (both measured within the same turn). */
export const pairedRatio = (a: Cell | undefined, b: Cell | undefined): number =>
  a && b ? median(a.runs.map((r, i) => r.samplesPerSecond / (b.runs[i]?.samplesPerSecond ?? NaN))) : NaN;
