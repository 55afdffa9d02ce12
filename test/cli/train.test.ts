/**
 * End to end: the compiled `gradpipe` as a subprocess on a small slice of MNIST (784-32-10, 2000 training
 * and 1000 test examples), checking every output file against independent readers, then eval, predict,
 * resume and info on what it wrote.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { encodePgm, encodePng } from '../../src/io/image.js';
import { parseJson } from '../../src/io/json.js';
import { loadModel } from '../../src/io/model.js';
import { networksEqual } from '../../src/nn/network.js';
import { fromCheckpoint } from '../../src/stages/checkpoint.js';
import { allElements, parseXml } from '../io/support/xml.js';
import { ensureBuilt, float64Accuracy, readSafetensors, rmTmp, runCli, tmp, writeMnistSlice, type RunResult } from './helpers.js';

const TRAIN = 2000;
const TEST = 1000;
const BATCH = 32;
const EPOCHS = 3;

let dir: string;
let data: string;
let out: string;
let run: RunResult;
let summary: Record<string, unknown>;
let testSet: { images: Uint8Array; labels: Uint8Array };

const small = (extra: readonly string[]): string[] => ['train', '--data', data, '--layers', '784-32-10', '--batch-size', String(BATCH), ...extra];

beforeAll(async () => {
  ensureBuilt();
  dir = tmp();
  data = join(dir, 'mnist');
  mkdirSync(data);
  testSet = writeMnistSlice(data, TRAIN, TEST).test;
  out = join(dir, 'run');
  run = await runCli(small(['--epochs', String(EPOCHS), '--out', out, '--json']), { cwd: dir });
  summary = parseJson(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
});

afterAll(() => rmTmp(dir));

describe('gradpipe train (subprocess)', () => {
  it('exits 0 and prints only the summary JSON, equal to summary.json', () => {
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(run.code, run.stderr).toBe(0);
    expect(parseJson(run.stdout)).toEqual(summary);
  });

  it('writes a summary with the figures of the run and its configuration', () => {
    for (const key of ['testAccuracy', 'testLoss', 'epochs', 'steps', 'samplesPerSecond', 'wallSeconds', 'trainSeconds', 'stoppedBecause', 'backend', 'threads', 'seed', 'config']) {
      expect(summary, key).toHaveProperty(key);
    }
    expect(summary['epochs']).toBe(EPOCHS);
    expect(summary['steps']).toBe(EPOCHS * Math.ceil(TRAIN / BATCH));
    expect(summary['testCount']).toBe(TEST);
    expect(summary['diverged']).toBe(false);
    expect((summary['config'] as { layers: number[] }).layers).toEqual([784, 32, 10]);
    expect(summary['testAccuracy']).toBeGreaterThan(0.7); // a trained network, not chance
  });

  it('appends metrics.jsonl: step records, one per epoch, and the end of the run', () => {
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const records = lines.map((l) => parseJson(l) as Record<string, unknown>);
    const epochs = records.filter((r) => r['kind'] === 'epoch');
    expect(epochs.map((r) => r['epoch'])).toEqual([0, 1, 2]);
    expect(records.filter((r) => r['kind'] === 'step').length).toBeGreaterThanOrEqual(EPOCHS);
    const end = records.find((r) => r['kind'] === 'end')!;
    expect(end['testAccuracy']).toBe(summary['testAccuracy']);
    expect(end['step']).toBe(summary['steps']);
  });

  it('saves model.safetensors that loads, with the documented tensors and metadata', async () => {
    const model = await loadModel(join(out, 'model.safetensors'));
    expect(E.isRight(model)).toBe(true);
    const raw = readSafetensors(join(out, 'model.safetensors'));
    expect(raw.metadata).toMatchObject({ format: 'gradpipe/1', activations: 'relu,softmax', loss: 'cross-entropy', input: 'pixels/255' });
    expect(Object.fromEntries(Object.entries(raw.tensors).map(([k, t]) => [k, [t.dtype, t.shape]]))).toEqual({
      'layers.0.weight': ['F32', [32, 784]],
      'layers.0.bias': ['F32', [32]],
      'layers.1.weight': ['F32', [10, 32]],
      'layers.1.bias': ['F32', [10]],
    });
  });

  it('reports the accuracy that an independent float64 forward pass over model.safetensors gives', () => {
    expect(float64Accuracy(join(out, 'model.safetensors'), testSet.images, testSet.labels)).toBe(summary['testAccuracy']);
  });

  it('leaves a checkpoint that loads and holds the saved network', async () => {
    const ckpt = await loadCheckpoint(out);
    if (E.isLeft(ckpt)) expect.fail(ckpt.left.message);
    const state = fromCheckpoint(ckpt.right, 'checkpoint');
    const model = await loadModel(join(out, 'model.safetensors'));
    if (E.isLeft(state) || E.isLeft(model)) expect.fail('checkpoint or model did not load');
    expect(state.right.state.epochsCompleted).toBe(EPOCHS);
    expect(networksEqual(state.right.state.network, model.right.network)).toBe(true);
  });

  it('draws well-formed curves.svg and confusion.svg; the confusion cells are the summary matrix', () => {
    const curves = parseXml(readFileSync(join(out, 'curves.svg'), 'utf8'));
    expect(curves.name).toBe('svg');
    expect(allElements(curves).filter((e) => e.name === 'polyline').length).toBeGreaterThanOrEqual(2);
    const confusion = parseXml(readFileSync(join(out, 'confusion.svg'), 'utf8'));
    const cells = allElements(confusion).filter((e) => e.attrs['class'] === 'cell');
    const matrix = summary['confusion'] as number[][];
    expect(cells).toHaveLength(100);
    for (const c of cells) expect(Number(c.attrs['data-count'])).toBe(matrix[Number(c.attrs['data-true'])]![Number(c.attrs['data-predicted'])]);
    expect(matrix.flat().reduce((a, b) => a + b, 0)).toBe(TEST);
  });

  it('metrics.jsonl epoch records have the held-out fields: without validation, the test set (display only), whose last record is the final test figures', () => {
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as Record<string, unknown>);
    const epochs = records.filter((r) => r['kind'] === 'epoch');
    expect(epochs).toHaveLength(EPOCHS);
    for (const e of epochs) {
      expect(e['heldOutSet']).toBe('test');
      expect(typeof e['heldOutLoss']).toBe('number');
      expect(e['heldOutAccuracy']).toBeGreaterThan(0);
    }
    // the last epoch's network is the saved one, evaluated on the same test set
    expect(epochs.at(-1)!['heldOutAccuracy']).toBe(summary['testAccuracy']);
    expect(epochs.at(-1)!['heldOutAccuracy']).toBe(float64Accuracy(join(out, 'model.safetensors'), testSet.images, testSet.labels));
  });

  it('curves.svg shows both lines, training and held-out, in both panels', () => {
    const curves = parseXml(readFileSync(join(out, 'curves.svg'), 'utf8'));
    const lines = allElements(curves).filter((e) => e.name === 'polyline');
    expect(lines.length).toBe(4);
    const legends = allElements(curves).filter((e) => e.attrs['class'] === 'legend').map((e) => e.text.trim());
    expect(legends.sort()).toEqual(['test (display only)', 'test (display only)', 'training', 'training']);
  });

  it('with --validation, --dropout and --affine the held-out fields are the validation figures', async () => {
    const o = join(dir, 'run-validation');
    const r = await runCli(small(['--epochs', '2', '--validation', '500', '--dropout', '0.2', '--affine', '1,5', '--out', o, '--json']), { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const epochs = readFileSync(join(o, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseJson(l) as Record<string, unknown>).filter((x) => x['kind'] === 'epoch');
    expect(epochs).toHaveLength(2);
    for (const e of epochs) {
      expect(e['heldOutSet']).toBe('validation');
      expect(e['heldOutAccuracy']).toBe(e['validationAccuracy']);
      expect(e['heldOutLoss']).toBe(e['validationLoss']);
    }
    const s = parseJson(readFileSync(join(o, 'summary.json'), 'utf8')) as { config: Record<string, unknown>; testAccuracy: number };
    expect(s.testAccuracy).toBeGreaterThan(0.5);
    expect(JSON.stringify(s.config)).toContain('"dropout":0.2');
  });

  it('eval reproduces testAccuracy exactly (and the loss and confusion matrix)', async () => {
    const r = await runCli(['eval', '--model', out, '--data', data, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const ev = parseJson(r.stdout) as Record<string, unknown>;
    expect(ev['testAccuracy']).toBe(summary['testAccuracy']);
    expect(ev['testLoss']).toBe(summary['testLoss']);
    expect(ev['confusion']).toEqual(summary['confusion']);
    expect(ev['count']).toBe(TEST);
  });

  it('predict classifies a PNG (and a PGM) of a test digit', async () => {
    // a digit the saved model gets right by the independent float64 pass
    const i = [...testSet.labels.keys()].find(
      (k) => float64Accuracy(join(out, 'model.safetensors'), testSet.images.subarray(k * 784, (k + 1) * 784), testSet.labels.subarray(k, k + 1)) === 1,
    )!;
    const png = join(dir, 'digit.png');
    writeFileSync(png, encodePng(testSet.images.slice(i * 784, (i + 1) * 784), 28, 28));
    const pgm = join(dir, 'digit.pgm');
    writeFileSync(pgm, encodePgm(testSet.images.slice(i * 784, (i + 1) * 784), 28, 28));
    const r = await runCli(['predict', '--model', out, png, pgm, '--idx', join(data, 't10k-images-idx3-ubyte'), '--index', String(i), '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const { predictions } = parseJson(r.stdout) as { predictions: { input: string; class: number; probabilities: number[] }[] };
    expect(predictions).toHaveLength(3);
    expect(predictions[0]!.class).toBe(testSet.labels[i]);
    expect(predictions[0]!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // the same pixels whichever way they arrive
    expect(predictions[1]).toEqual({ ...predictions[0], input: predictions[1]!.input });
    expect(predictions[2]!.probabilities).toEqual(predictions[0]!.probabilities);
    const text = await runCli(['predict', '--model', out, png], { cwd: dir });
    expect(text.stdout).toMatch(new RegExp(`digit\\.png: ${testSet.labels[i]} \\(`));
  });

  it('resuming from the checkpoint after epoch 2 gives a bit-identical model', async () => {
    const resumed = join(dir, 'resumed');
    mkdirSync(resumed);
    // the previous checkpoint is the one written at the end of epoch 2
    copyFileSync(join(out, 'checkpoint.prev.safetensors'), join(resumed, 'checkpoint.safetensors'));
    const ckpt = await loadCheckpoint(resumed);
    if (E.isLeft(ckpt)) expect.fail(ckpt.left.message);
    const st = fromCheckpoint(ckpt.right, 'checkpoint');
    if (E.isLeft(st)) expect.fail(st.left.message);
    expect(st.right.state.epochsCompleted).toBe(2);
    const r = await runCli(['train', '--resume', resumed, '--data', data, '--quiet'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(readSafetensors(join(resumed, 'model.safetensors')).dataSection).equals(Buffer.from(readSafetensors(join(out, 'model.safetensors')).dataSection))).toBe(true);
  });

  it('--resume --epochs extends a finished run to the same network as one run of that length', async () => {
    const whole = join(dir, 'whole');
    const part = join(dir, 'part');
    const constant = ['--lr-schedule', 'constant', '--quiet'];
    const [a, b] = await Promise.all([runCli(small(['--epochs', '2', '--out', whole, ...constant]), { cwd: dir }), runCli(small(['--epochs', '1', '--out', part, ...constant]), { cwd: dir })]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const c = await runCli(['train', '--resume', part, '--epochs', '2', '--data', data, '--quiet'], { cwd: dir });
    expect(c.code, c.stderr).toBe(0);
    expect(Buffer.from(readSafetensors(join(part, 'model.safetensors')).dataSection).equals(Buffer.from(readSafetensors(join(whole, 'model.safetensors')).dataSection))).toBe(true);
    // options that contradict the checkpoint are refused, in one line
    const d = await runCli(['train', '--resume', part, '--lr', '0.2', '--data', data], { cwd: dir });
    expect(d.code, d.stderr).toBe(1);
    expect(d.stderr).toMatch(/^gradpipe: --lr: 0\.2 conflicts with the checkpoint in .*; leave --lr out when resuming/);
    expect(d.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('gradpipe info reports the version, the backend and why, and the data folder', async () => {
    const r = await runCli(['info', '--data', data, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const info = parseJson(r.stdout) as { gradpipe: string; node: string; backend: { name: string; why: string; threads: number }; data: { found: boolean; dir: string } };
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(info.gradpipe).toBe(pkg.version);
    expect(info.node).toBe(process.version);
    expect(['native', 'wasm', 'ts']).toContain(info.backend.name);
    expect(info.backend.why).toMatch(info.backend.name);
    expect(info.backend.threads).toBeGreaterThanOrEqual(1);
    expect(info.data).toEqual({ found: true, dir: data, source: 'option' });
    const text = await runCli(['info'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^data {6}not found: .*tried/m);
  });
});
