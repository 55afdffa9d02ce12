/**
 * Interruption, divergence and damaged checkpoints through the real process (issue 6):
 * - SIGINT mid-epoch: exit 130, a checkpoint, the resume command printed; resuming gives a network
 *   bit-identical to an uninterrupted run with the same seed;
 * - a run configured to diverge exits 3 with the report, and its last finite checkpoint loads and evaluates;
 * - a truncated checkpoint is refused with a clear message, and the previous good one is still there.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/dataset.js';
import { locateNonFinite } from '../../src/diagnostics/nonfinite.js';
import { loadCheckpoint, loadCheckpointFile } from '../../src/io/checkpoint.js';
import { parseJson } from '../../src/io/json.js';
import { fromCheckpoint } from '../../src/stages/checkpoint.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { CLI, mnistSliceDir, readSafetensors, rmTmp, runCli, type RunResult } from './helpers.js';

let dir: string;
let data: string;

beforeAll(() => ({ dir, data } = mnistSliceDir(2000, 500)));
afterAll(() => rmTmp(dir));

// 1500 steps of batch 4: long enough (seconds) to be interrupted mid-run
const LONG = ['--layers', '784-64-10', '--batch-size', '4', '--epochs', '3', '--train-limit', '2000', '--quiet'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts training, sends SIGINT once the first step record is in metrics.jsonl, and waits for the exit. */
const interrupted = (out: string): Promise<RunResult & { stepsAtSignal: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', '--data', data, ...LONG, '--out', out], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stepsAtSignal = -1;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, stepsAtSignal }));
    void (async () => {
      const metrics = join(out, 'metrics.jsonl');
      for (let i = 0; i < 1500; i++) {
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"kind":"step"')) {
          const steps = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => parseJson(l) as { step?: number });
          stepsAtSignal = Math.max(...steps.map((s) => s.step ?? 0));
          child.kill('SIGINT');
          return;
        }
        await sleep(10);
      }
      child.kill('SIGKILL');
    })();
  });

describe('interruption', () => {
  it('SIGINT mid-run: checkpoint, resume hint, exit 130; resuming is bit-identical to an uninterrupted run', async () => {
    const whole = join(dir, 'whole');
    const cut = join(dir, 'cut');
    const [full, stopped] = await Promise.all([runCli(['train', '--data', data, ...LONG, '--out', whole], { cwd: dir }), interrupted(cut)]);
    expect(full.code, full.stderr).toBe(0);
    // paths are shown relative to the working directory
    expect(stopped.stderr).toMatch(/gradpipe: stopped by SIGINT at step \d+; checkpoint written to cut\/checkpoint.safetensors; continue with: gradpipe train --resume cut\n/);
    expect(stopped.code, stopped.stderr).toBe(130);

    const ckpt = await loadCheckpoint(cut);
    if (E.isLeft(ckpt)) expect.fail(ckpt.left.message);
    const st = fromCheckpoint(ckpt.right, 'checkpoint');
    if (E.isLeft(st)) expect.fail(st.left.message);
    // stopped after the step it was in when the signal came, well before the end
    expect(st.right.state.step).toBeGreaterThanOrEqual(stopped.stepsAtSignal);
    expect(st.right.state.step).toBeLessThan(1500);

    const resumed = await runCli(['train', '--resume', cut, '--data', data, '--quiet'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = readSafetensors(join(whole, 'model.safetensors'));
    const b = readSafetensors(join(cut, 'model.safetensors'));
    expect(Buffer.from(b.dataSection).equals(Buffer.from(a.dataSection))).toBe(true);
    const summary = parseJson(readFileSync(join(cut, 'summary.json'), 'utf8')) as { steps: number; resumedFrom: string };
    expect(summary.steps).toBe(1500);
    expect(summary.resumedFrom).toBe(cut);
  });
});

describe('divergence', () => {
  it('exits 3 with the report; the last finite checkpoint and the metrics are on disk and usable', async () => {
    const out = join(dir, 'diverged');
    const r = await runCli(['train', '--data', data, '--layers', '784-32-10', '--optimizer', 'sgd', '--lr', '1e30', '--lr-schedule', 'constant', '--train-limit', '500', '--out', out], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/gradpipe: training diverged at step \d+ \(epoch \d+\): \d+ non-finite values? .* in the \w+( \w+)? of layer \d/);
    expect(r.stderr).toContain('largest magnitudes in the steps before');
    expect(r.stderr).toMatch(/step \d+: loss .*, gradient norm .*, activations /);
    expect(r.stderr).toContain('lower the learning rate');
    expect(r.stderr).toContain('the last finite checkpoint is diverged/checkpoint.safetensors; metrics so far are in diverged/metrics.jsonl');
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as Record<string, unknown>);
    expect(records.find((x) => x['kind'] === 'divergence')).toBeDefined();
    const ckpt = await loadCheckpoint(out);
    if (E.isLeft(ckpt)) expect.fail(ckpt.left.message);
    const st = fromCheckpoint(ckpt.right, 'checkpoint');
    if (E.isLeft(st)) expect.fail(st.left.message);
    expect(locateNonFinite(st.right.state.network)).toBeUndefined();
    const test = await loadDataset(join(data, 't10k-images-idx3-ubyte'), join(data, 't10k-labels-idx1-ubyte'), { classes: 10 });
    if (E.isLeft(test)) expect.fail(test.left.message);
    const ev = evaluate(st.right.state.network, test.right, { loss: 'cross-entropy' });
    expect(ev.count).toBe(500);
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    // a diverged run offers no model.safetensors, so nothing mistakes it for a trained one
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  });
});

describe('damaged files', () => {
  it('a truncated checkpoint is refused in one line that points at the intact previous one', async () => {
    const out = join(dir, 'short');
    const r = await runCli(['train', '--data', data, '--layers', '784-16-10', '--epochs', '2', '--train-limit', '500', '--out', out, '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const file = join(out, 'checkpoint.safetensors');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const resumed = await runCli(['train', '--resume', out, '--data', data, '--epochs', '3'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
    expect(resumed.stderr).toMatch(new RegExp(`^gradpipe: ${file}: is corrupted or truncated .*; the previous checkpoint ${join(out, 'checkpoint.prev.safetensors')} is intact`));
    expect(E.isRight(await loadCheckpointFile(join(out, 'checkpoint.prev.safetensors')))).toBe(true);
  });

  it('a corrupted model is refused by eval and predict', async () => {
    const out = join(dir, 'short');
    const model = join(dir, 'bad-model.safetensors');
    copyFileSync(join(out, 'model.safetensors'), model);
    const bytes = readFileSync(model);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x40;
    writeFileSync(model, bytes);
    for (const args of [['eval', '--model', model, '--data', data], ['predict', '--model', model, '--idx', join(data, 't10k-images-idx3-ubyte'), '--index', '0']]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^gradpipe: ${model}: .*(hash|corrupt)`));
    }
  });
});
