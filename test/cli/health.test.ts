/**
 * Issue 14, points 3 and 4, through the CLI:
 * - `--lr 1e4` on 784-64-10: the loss explodes without a NaN; exit 3 with the divergence report naming the
 *   step and layer, the last checkpoint kept;
 * - the seed's configuration on the first 12,000 images, 1 epoch: a saturation finding naming the layer is
 *   printed before the epoch ends, and summary.json and metrics.jsonl hold it; the test accuracy is no
 *   better than chance, so the last line says so and gives the doctor command; exit 0;
 * - a run resumed after its first epoch does not tell the saturation finding again; its summary.json holds it;
 * - the default configuration on the same data prints no finding;
 * - `doctor --lr 1e10` with He init: no "use --init he", no blame of U(0,1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/io/json.js';
import { mnistSliceDir, rmTmp, runCli } from './helpers.js';

let dir: string;
let data: string;

beforeAll(() => {
  ({ dir, data } = mnistSliceDir(12000, 1000));
});
afterAll(() => rmTmp(dir));

const SEED = ['--activation', 'sigmoid', '--output', 'softmax', '--loss', 'mse', '--init', 'uniform:0,1', '--batch-size', '20', '--lr', '0.05', '--optimizer', 'sgd'];

describe('training that diverges or does not learn is named while it happens', () => {
  it('--lr 1e4 on 784-64-10: the exploding loss stops the run with exit 3, naming the step and layer', async () => {
    const r = await runCli(['train', '--data', data, '--layers', '784-64-10', '--lr', '1e4', '--epochs', '1', '--train-limit', '3000', '--out', 'lr', '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^gradpipe: training diverged at step \d+ \(epoch 1\): the batch loss \S+ exceeds \S+ \(1000 times its first value or the uniform guess's\): exploding, first in the activations of layer 0/m);
    expect(r.stderr).toMatch(/what to try:\n    - lower the learning rate/);
    // the configuration's own hints: He and cross-entropy on logits are in use already
    expect(r.stderr).not.toMatch(/--init he|--loss cross-entropy/);
    expect(r.stderr).toMatch(/the last finite checkpoint is lr\/checkpoint\.safetensors/);
    expect(existsSync(join(dir, 'lr', 'checkpoint.safetensors'))).toBe(true);
    const summary = parseJson(readFileSync(join(dir, 'lr', 'summary.json'), 'utf8')) as { diverged: boolean };
    expect(summary.diverged).toBe(true);
  });

  it("the seed's configuration: saturation named with its layer during the first epoch, in summary.json and metrics.jsonl; the last line says the model guesses", async () => {
    const r = await runCli(['train', '--data', data, ...SEED, '--epochs', '1', '--out', 'seed'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    const saturation = lines.findIndex((l) => /^gradpipe: health check at step \d+ \(epoch 1\): layer 0 \(sigmoid, 1000 units\): \d+\.\d% of outputs are saturated/.test(l));
    const epochLine = lines.findIndex((l) => l.startsWith('epoch 1/1'));
    expect(saturation, r.stdout).toBeGreaterThanOrEqual(0);
    expect(saturation).toBeLessThan(epochLine);
    expect(lines.at(-1)).toMatch(/^gradpipe: the test accuracy \d+\.\d+% is no better than guessing among 10 classes: this model learned nothing; to see why, run gradpipe doctor --data \S+ --activation sigmoid --loss mse --init uniform:0,1 --optimizer sgd --lr 0.05 --batch-size 20 --epochs 1$/);
    const summary = parseJson(readFileSync(join(dir, 'seed', 'summary.json'), 'utf8')) as { findings: { code: string; layer: number | null; step: number }[]; noBetterThanChance: boolean };
    expect(summary.findings).toContainEqual(expect.objectContaining({ code: 'saturated', layer: 0 }));
    expect(summary.noBetterThanChance).toBe(true);
    const records = readFileSync(join(dir, 'seed', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as { kind: string; code?: string; layer?: number });
    expect(records).toContainEqual(expect.objectContaining({ kind: 'finding', code: 'saturated', layer: 0 }));
  });

  it("a resumed run tells no finding again: the seed's saturation, told in its first epoch, is not printed after --resume, and the resumed summary.json still holds it", async () => {
    const first = await runCli(['train', '--data', data, ...SEED, '--epochs', '1', '--train-limit', '2000', '--out', 'seed-resumed'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const saturation = /health check at step (\d+) \(epoch 1\): layer 0 \(sigmoid, 1000 units\): \d+\.\d% of outputs are saturated/;
    const toldAt = Number(first.stdout.match(saturation)?.[1]);
    expect(toldAt, first.stdout).toBeGreaterThan(0);
    const before = parseJson(readFileSync(join(dir, 'seed-resumed', 'summary.json'), 'utf8')) as { findings: { code: string; layer: number | null; step: number }[] };
    const resumed = await runCli(['train', '--resume', 'seed-resumed', '--epochs', '2', '--data', data], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^epoch 2\/2 /m); // the second epoch ran, and its end was scanned
    expect(`${resumed.stdout}${resumed.stderr}`).not.toMatch(/layer 0 \(sigmoid, 1000 units\): \d+\.\d% of outputs are saturated/);
    const after = parseJson(readFileSync(join(dir, 'seed-resumed', 'summary.json'), 'utf8')) as { findings: { code: string; layer: number | null; step: number }[] };
    // every finding of the first part, with the step it was told at, then any new ones (each code and layer once)
    expect(after.findings.slice(0, before.findings.length)).toEqual(before.findings);
    expect(after.findings).toContainEqual(expect.objectContaining({ code: 'saturated', layer: 0, step: toldAt }));
    const keys = after.findings.map((f) => `${f.code}/${f.layer}`);
    expect(new Set(keys).size).toBe(keys.length);
    // metrics.jsonl, which the resumed run appends to, has the saturation record once
    const records = readFileSync(join(dir, 'seed-resumed', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as { kind: string; code?: string; layer?: number });
    expect(records.filter((m) => m.kind === 'finding' && m.code === 'saturated' && m.layer === 0)).toHaveLength(1);
  });

  it('the default configuration prints no finding', async () => {
    const r = await runCli(['train', '--data', data, '--epochs', '1', '--out', 'default'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/health check|no better than guessing|warning/);
    const summary = parseJson(readFileSync(join(dir, 'default', 'summary.json'), 'utf8')) as { findings: unknown[]; noBetterThanChance: boolean };
    expect(summary.findings).toEqual([]);
    expect(summary.noBetterThanChance).toBe(false);
  });

  it('doctor --lr 1e10 with He init: hints advise neither --init he nor blame U(0,1) weights', async () => {
    const r = await runCli(['doctor', '--data', data, '--layers', '784-64-10', '--lr', '1e10', '--steps', '5', '--json'], { cwd: dir });
    const report = parseJson(r.stdout) as { findings: { code: string; hint: string }[] };
    expect(report.findings.length, r.stdout).toBeGreaterThan(0);
    for (const f of report.findings) {
      expect(f.hint).not.toMatch(/--init he\b/);
      expect(f.hint).not.toMatch(/U\(0,1\)|uniform/);
    }
  });
});
