/**
 * The progress display: redrawn in place at most every 100 ms on a terminal, one plain line per epoch
 * elsewhere, nothing when silent; and the reporting intervals of metrics.jsonl.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { captureOut } from '../../src/cli/io.js';
import { createProgress, epochLine, formatDuration } from '../../src/cli/progress.js';
import { reportingIntervals } from '../../src/cli/train.js';
import type { EpochEvent, StepEvent } from '../../src/stages/report.js';

const plan = { epochs: 2, batchesPerEpoch: 100, examplesPerEpoch: 6400, examplesBefore: 0 };
const step = (i: number): StepEvent => ({ kind: 'step', step: i, epoch: 0, batchInEpoch: i, loss: 1 / i, lr: 0.1, examplesSeen: 64 * i, samplesPerSecond: 6400 });
const epoch: EpochEvent = { kind: 'epoch', epoch: 0, step: 100, examplesSeen: 6400, trainLoss: 0.25, trainAccuracy: 0.9, lr: 0.05, seconds: 1, samplesPerSecond: 6400 };

describe('createProgress', () => {
  it('on a terminal: redraws the bar in place at most every 100 ms, then keeps one line per epoch', () => {
    const out = captureOut(true, 100);
    let now = 0;
    const p = createProgress(out, 'tty', plan, { clock: () => now });
    for (let i = 1; i <= 50; i++) {
      now = i * 20; // a step every 20 ms: 1000 ms in all
      p.step(step(i));
    }
    const draws = out.text().split('\r\x1b[2K').filter((s) => s.startsWith('epoch'));
    expect(draws.length).toBeGreaterThanOrEqual(9);
    expect(draws.length).toBeLessThanOrEqual(11);
    // drawn at steps 1, 6, ..., 46 (every 100 ms); 64 examples every 20 ms is 3,200 a second, and the
    // 2 * 6400 - 46 * 64 = 9856 examples to go take 3 s
    expect(draws[draws.length - 1]).toBe('epoch 1/2 [==============>               ]  46% loss 0.0217 3,200 samples/s ETA 3s');
    for (const d of draws) expect(d.length).toBeLessThan(100);
    p.epoch(epoch);
    p.end();
    expect(out.text().endsWith(`\r\x1b[2K${epochLine(epoch, 2)}\n`)).toBe(true);
  });

  it('elsewhere: exactly one plain line per epoch, no control characters', () => {
    const out = captureOut(false);
    const p = createProgress(out, 'lines', plan);
    for (let i = 1; i <= 100; i++) p.step(step(i));
    p.epoch(epoch);
    p.epoch({ ...epoch, epoch: 1, validationLoss: 0.3, validationAccuracy: 0.91 });
    p.end();
    expect(out.text()).toBe(
      'epoch 1/2  loss 0.2500 acc 90.00%  lr 0.0500  6,400 samples/s  1.0 s\n' +
        'epoch 2/2  loss 0.2500 acc 90.00%  val loss 0.3000 acc 91.00%  lr 0.0500  6,400 samples/s  1.0 s\n',
    );
  });

  it('silent: nothing at all', () => {
    const out = captureOut(true);
    const p = createProgress(out, 'silent', plan);
    p.step(step(1));
    p.epoch(epoch);
    p.note('hello');
    p.end();
    expect(out.text()).toBe('');
  });

  it('formats durations for people', () => {
    expect([0, 42.4, 65, 3599, 3600 * 2 + 61, NaN].map(formatDuration)).toEqual(['0s', '42s', '1m05s', '59m59s', '2h01m', '?']);
  });
});

describe('reportingIntervals', () => {
  fcTest.prop([fc.integer({ min: 1, max: 100_000 })])(
    'should respect the law: the metrics interval is a multiple of the update interval, between 1 and 100 steps',
    (batches) => {
      const { stepEvery, metricsEvery } = reportingIntervals(batches);
      expect(metricsEvery % stepEvery).toBe(0);
      expect(metricsEvery).toBeGreaterThanOrEqual(1);
      expect(metricsEvery).toBeLessThanOrEqual(100);
      // about ten records an epoch (or one per 100 steps for long epochs)
      expect(Math.ceil(batches / metricsEvery)).toBeLessThanOrEqual(Math.max(20, Math.ceil(batches / 100)));
    },
  );
});
