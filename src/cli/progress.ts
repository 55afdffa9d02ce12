/**
 * Training progress for people. Three modes:
 * - `tty`: a bar for the current epoch with loss, samples/s and ETA, redrawn in place at most every
 *   `redrawMs` (default 100 ms, so ~10 times a second), and one kept line per finished epoch;
 * - `lines` (pipes, CI, log files): one plain line per finished epoch, nothing in between;
 * - `silent`: nothing (--quiet, or --json when stderr is not a terminal).
 */
import type { EpochEvent, StepEvent } from '../stages/report.js';
import type { Out } from './io.js';

export type ProgressMode = 'tty' | 'lines' | 'silent';

export interface ProgressPlan {
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  /** Training examples per epoch. */
  readonly examplesPerEpoch: number;
  /** Examples already seen when this run starts (a resumed run). */
  readonly examplesBefore: number;
}

export interface Progress {
  step(e: StepEvent): void;
  epoch(e: EpochEvent): void;
  /** A line that must not be mixed into the bar (warnings, notices). */
  note(line: string): void;
  /** Clears the bar. */
  end(): void;
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** `1h02m`, `3m05s`, `42s`. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** One plain line for a finished epoch (epochs counted from 1 for people). */
export const epochLine = (e: EpochEvent, epochs: number): string => {
  const val =
    e.validationLoss === undefined || e.validationAccuracy === undefined
      ? ''
      : `  val loss ${e.validationLoss.toFixed(4)} acc ${(100 * e.validationAccuracy).toFixed(2)}%`;
  return `epoch ${e.epoch + 1}/${epochs}  loss ${e.trainLoss.toFixed(4)} acc ${(100 * e.trainAccuracy).toFixed(2)}%${val}  lr ${e.lr.toPrecision(3)}  ${fmtInt(e.samplesPerSecond)} samples/s  ${e.seconds.toFixed(1)} s`;
};

/** The progress display for `mode` on `out`. */
export const createProgress = (out: Out, mode: ProgressMode, plan: ProgressPlan, opts: { readonly redrawMs?: number; readonly clock?: () => number } = {}): Progress => {
  const clock = opts.clock ?? (() => performance.now());
  const redrawMs = opts.redrawMs ?? 100;
  let lastDraw = -Infinity;
  let drawn = false;
  // the rate over the whole run so far: steadier than the rate of the last interval
  let first: { readonly time: number; readonly seen: number } | undefined;
  let rate = 0;
  const clear = (): void => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  const bar = (e: StepEvent): string => {
    const frac = Math.min(1, e.batchInEpoch / Math.max(1, plan.batchesPerEpoch));
    const head = `epoch ${e.epoch + 1}/${plan.epochs} `;
    const remaining = plan.epochs * plan.examplesPerEpoch - e.examplesSeen;
    const tail = ` ${(100 * frac).toFixed(0).padStart(3)}% loss ${e.loss.toFixed(4)} ${fmtInt(rate)} samples/s ETA ${rate > 0 ? formatDuration(remaining / rate) : '?'}`;
    const width = Math.max(10, Math.min(30, out.columns - 70));
    const full = Math.round(frac * width);
    return `${head}[${'='.repeat(full)}${full < width ? '>' : ''}${' '.repeat(Math.max(0, width - full - 1))}]${tail}`.slice(0, Math.max(1, out.columns - 1));
  };
  return {
    step: (e) => {
      if (mode !== 'tty') return;
      const now = clock();
      if (first === undefined) {
        first = { time: now, seen: e.examplesSeen };
        rate = e.samplesPerSecond;
      } else if (now > first.time) rate = (e.examplesSeen - first.seen) / ((now - first.time) / 1000);
      if (now - lastDraw < redrawMs) return;
      lastDraw = now;
      out.write(`\r\x1b[2K${bar(e)}`);
      drawn = true;
    },
    epoch: (e) => {
      if (mode === 'silent') return;
      clear();
      out.write(`${epochLine(e, plan.epochs)}\n`);
    },
    note: (line) => {
      if (mode === 'silent') return;
      clear();
      out.write(`${line}\n`);
    },
    end: clear,
  };
};
