/**
 * Two signals at seeded random moments of a 784-1000-10 run, spread over its epochs (before the first step,
 * across epoch boundaries, during checkpoint writes, after the last step). Whatever the moment, the files
 * under real names are whole checkpoints of the steps they name: resuming from the latest (and from the
 * previous one) gives a model bit-identical to the uninterrupted run's, or refuses in one line with exit 1;
 * never a silent different model. A resumed run's metrics have every epoch.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/io/json.js';
import { rng } from '../../src/nn/random.js';
import { CLI, mnistSliceDir, readSafetensors, rmTmp, runCli, type RunResult } from './helpers.js';

let dir: string;
let data: string;

beforeAll(() => ({ dir, data } = mnistSliceDir(1024, 200)));
afterAll(() => rmTmp(dir));

const RUN = ['--layers', '784-1000-10', '--batch-size', '16', '--epochs', '3', '--train-limit', '1024', '--data'];
const TRIALS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts training; once it says it is training, waits `first` ms, sends SIGINT, waits `second` ms, sends SIGINT again. */
const twoSignals = (out: string, first: number, second: number): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...RUN, data, '--out', out], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!started && stdout.includes('training 784-1000-10')) {
        started = true;
        void (async () => {
          await sleep(first);
          child.kill('SIGINT');
          await sleep(second);
          child.kill('SIGINT');
        })();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

const modelBytes = (folder: string) => Buffer.from(readSafetensors(join(folder, 'model.safetensors')).dataSection);

describe('two signals at random moments', () => {
  it(`${TRIALS} seeded moments across the epochs of a 784-1000-10 run: every resume is bit-identical to the uninterrupted run or refuses with exit 1 and one line`, { timeout: 600_000 }, async () => {
    const whole = join(dir, 'whole');
    const ref = await runCli(['train', ...RUN, data, '--out', whole, '--quiet'], { cwd: dir });
    expect(ref.code, ref.stderr).toBe(0);
    const reference = modelBytes(whole);
    const { trainSeconds } = parseJson(readFileSync(join(whole, 'summary.json'), 'utf8')) as { trainSeconds: number };
    const r = rng(2026, 'signals');
    const outcomes: string[] = [];

    const trial = async (i: number, first: number, second: number) => {
      const cut = join(dir, `cut-${i}`);
      const run = await twoSignals(cut, first, second);
      expect([0, 130], run.stderr).toContain(run.code);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // the latest checkpoint, and the previous one on its own, must each resume to the reference or refuse
      const candidates = [cut];
      if (existsSync(join(cut, 'checkpoint.prev.safetensors'))) {
        const prev = join(dir, `prev-${i}`);
        mkdirSync(prev);
        copyFileSync(join(cut, 'checkpoint.prev.safetensors'), join(prev, 'checkpoint.safetensors'));
        candidates.push(prev);
      }
      for (const folder of candidates) {
        const resumed = await runCli(['train', '--resume', folder, '--data', data, '--quiet'], { cwd: dir });
        if (resumed.code === 0) {
          expect(modelBytes(folder).equals(reference), `trial ${i} (${first.toFixed(0)} ms, +${second.toFixed(0)} ms), ${folder}: a different model`).toBe(true);
          if (folder === cut) {
            const epochs = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as { kind: string; epoch?: number }).filter((m) => m.kind === 'epoch').map((m) => m.epoch);
            expect(new Set(epochs), `trial ${i}: metrics.jsonl epochs`).toEqual(new Set([0, 1, 2]));
          }
          outcomes.push(`resumed ${folder === cut ? 'latest' : 'previous'} (trial ${i}: ${first.toFixed(0)} ms, +${second.toFixed(0)} ms, exit ${run.code})`);
        } else {
          expect(resumed.code, resumed.stderr).toBe(1);
          expect(resumed.stderr.trim().split('\n'), resumed.stderr).toHaveLength(1);
          outcomes.push(`refused (trial ${i}: ${first.toFixed(0)} ms, +${second.toFixed(0)} ms, exit ${run.code}): ${resumed.stderr.trim()}`);
        }
      }
    };
    const moments = Array.from({ length: TRIALS }, () => [r() * 1.2 * trainSeconds * 1000, r() * 40] as const);
    for (let i = 0; i < TRIALS; i += 2) await Promise.all(moments.slice(i, i + 2).map(([a, b], k) => trial(i + k, a, b)));
    // most moments leave something to resume from
    expect(outcomes.filter((o) => o.startsWith('resumed')).length, outcomes.join('\n')).toBeGreaterThan(TRIALS / 2);
  });
});
