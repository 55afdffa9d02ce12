/**
 * `gradpipe doctor` in-process on a small slice of MNIST: the original failing configuration is diagnosed
 * (hidden saturation, the output-loss pairing, exit 4), the default configuration is clean (exit 0), tiny
 * values are named where they occur, and --json is the same report as data. Independent oracles: the
 * probe's loss and hidden pre-activations recomputed in float64 from the seeded network and the raw bytes.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor.js';
import { parseJson } from '../../src/io/json.js';
import { initNetwork } from '../../src/nn/init.js';
import type { Network } from '../../src/nn/network.js';
import { unwrap } from '../arb/network.js';
import { readMnistSlice, rmTmp, runMain, tmp, writeMnistSlice, type RunResult } from './helpers.js';

const TRAIN = 600;
const PROBE = 48;
// small probe, few steps, a sampled gradient check: each run takes a second or two
const QUICK = ['--probe', String(PROBE), '--check-examples', '2', '--check-entries', '4'];
const ORIGINAL = ['--layers', '784-1000-10', '--activation', 'sigmoid', '--output', 'softmax', '--loss', 'mse', '--init', 'uniform:0,1', '--batch-size', '20', '--lr', '0.05', '--optimizer', 'sgd'];

let dir: string;
let data: string;
const doctor = (args: readonly string[]): Promise<RunResult> =>
  runMain(['doctor', '--data', data, ...QUICK, ...(args.includes('--steps') ? [] : ['--steps', '8']), ...args], { cwd: dir });
const report = (r: RunResult): DoctorReport => parseJson(r.stdout) as DoctorReport;

beforeAll(() => {
  dir = tmp('gradpipe-doctor-');
  data = join(dir, 'mnist');
  mkdirSync(data);
  writeMnistSlice(data, TRAIN, 50);
});
afterAll(() => rmTmp(dir));

/** Float64 pre-activations of the first layer and the mean loss over the first PROBE training examples. */
const float64Probe = (net: Network, loss: 'mse' | 'cross-entropy') => {
  const { images, labels } = readMnistSlice('train', PROBE);
  const [l0, l1] = net.layers;
  const hiddenAct = (z: number) => (l0!.activation === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : Math.max(0, z));
  const pre: number[] = [];
  let total = 0;
  for (let e = 0; e < PROBE; e++) {
    const x = Array.from(images.subarray(e * 784, (e + 1) * 784), (p) => p / 255);
    const h = Array.from({ length: l0!.weight.rows }, (_, o) => {
      let s = l0!.bias[o]!;
      for (let k = 0; k < 784; k++) s += l0!.weight.data[o * 784 + k]! * x[k]!;
      pre.push(s);
      return hiddenAct(s);
    });
    const z = Array.from({ length: 10 }, (_, o) => {
      let s = l1!.bias[o]!;
      for (let k = 0; k < h.length; k++) s += l1!.weight.data[o * h.length + k]! * h[k]!;
      return s;
    });
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    total += loss === 'cross-entropy' ? lse - z[labels[e]!]! : z.reduce((s, v, j) => s + 0.5 * (Math.exp(v - lse) - (j === labels[e] ? 1 : 0)) ** 2, 0);
  }
  return { pre, loss: total / PROBE };
};

describe('gradpipe doctor', () => {
  it('diagnoses the original configuration: hidden saturation, wrong output-loss pairing, exit 4', async () => {
    const r = await doctor([...ORIGINAL, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(4);
    const rep = report(r);
    expect(rep.healthy).toBe(false);
    expect(rep.exitCode).toBe(4);
    const codes = rep.findings.filter((f) => f.severity === 'problem').map((f) => `${f.code}/${f.layer ?? '-'}`);
    expect(codes).toContain('saturated/0');
    expect(codes).toContain('output-loss-pairing/-');
    expect(codes).toContain('huge-logits/1');
    // the pairing finding carries its measurement: the mse gradient at the logits is a sliver of cross-entropy's
    const pairing = rep.findings.find((f) => f.code === 'output-loss-pairing')!;
    expect(pairing.evidence!.gradient).toBeLessThan(0.05 * pairing.evidence!.crossEntropyGradient);

    // oracle: the hidden pre-activations of the seeded network on the probe, in float64, are far in the
    // sigmoid's flat tail (derivative below 1e-6 means z > 13.8), and the probe loss agrees
    const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'sigmoid', output: 'softmax' }, { kind: 'uniform', low: 0, high: 1 }, 1));
    const oracle = float64Probe(net, 'mse');
    const saturated = oracle.pre.filter((z) => Math.abs(z) > 13.8).length / oracle.pre.length;
    expect(rep.initial.layers[0]!.saturatedFraction).toBeCloseTo(saturated, 2);
    expect(rep.initial.loss).toBeCloseTo(oracle.loss, 4);
  });

  it('prints the diagnosis in plain language with a hint for each finding', async () => {
    const r = await doctor(ORIGINAL);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/PROBLEM .*layer 0 \(sigmoid, 1000 units\): 100\.0% of outputs are saturated/);
    expect(r.stdout).toMatch(/PROBLEM .*output softmax with loss mse: wrong output-loss pairing/);
    expect(r.stdout).toMatch(/what to do: use --loss cross-entropy/);
    expect(r.stdout).toMatch(/gradient check .*backprop is right/);
    expect(r.stdout).toMatch(/verdict: \d+ problems found \(exit 4\)/);
  });

  it('finds nothing wrong with the default configuration (exit 0) and scans the seeded network', async () => {
    const r = await doctor(['--json', '--steps', '20']);
    expect(r.code).toBe(0);
    const rep = report(r);
    expect(rep.findings).toEqual([]);
    expect(rep.healthy).toBe(true);
    expect(rep.config['layers']).toBe('784-1000-10');
    expect(rep.training.steps).toBe(20);
    expect(rep.final.loss).toBeLessThan(rep.initial.loss);
    const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    expect(rep.initial.loss).toBeCloseTo(float64Probe(net, 'cross-entropy').loss, 4);
    // the gradient check sampled: at most 4 entries of each of the 4 tensors
    const checked = rep.gradientCheck.layers.flatMap((l) => [l.weight.checked + l.weight.skippedAtKinks, l.bias.checked + l.bias.skippedAtKinks]);
    expect(checked.every((n) => n <= 4)).toBe(true);
    expect(rep.gradientCheck.worst).toBeLessThan(1e-6);
    const text = await doctor(['--steps', '20']);
    expect(text.stdout).toMatch(/findings: none\. No problems found\.\nverdict: healthy \(exit 0\)\n$/);
  });

  it('names tiny values where they occur: U(0,1) weights under ReLU units underflow the softmax', async () => {
    const r = await doctor(['--activation', 'relu', '--init', 'uniform:0,1', '--optimizer', 'sgd', '--json']);
    expect(r.code).toBe(4);
    const tiny = report(r).findings.find((f) => f.code === 'tiny-values');
    expect(tiny?.layer).toBe(1);
    expect(report(r).initial.layers[1]!.outputs.tiny).toBeGreaterThan(0);
  });

  it('names the first non-finite value when training diverges, and says what to try', async () => {
    const r = await doctor(['--lr', '1e30', '--optimizer', 'sgd', '--json']);
    expect(r.code).toBe(4);
    const rep = report(r);
    expect(rep.training.divergence).toMatch(/^step \d+ \(epoch \d+\): \d+ non-finite values? .* in the /);
    const f = rep.findings.find((x) => x.code === 'non-finite' && x.when === 'training stopped there');
    expect(f?.hint).toMatch(/lower the learning rate/);
  });

  it('has --help with its exit codes, and rejects a bad option of its own in one line', async () => {
    const h = await runMain(['doctor', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--check-entries N/);
    expect(h.stdout).toMatch(/4 problems found/);
    const bad = await doctor(['--steps', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^gradpipe: --steps: 'many' is not a whole number[^\n]*\n$/);
    const badTrain = await doctor(['--loss', 'cross-entropy', '--output', 'identity']);
    expect(badTrain.code).toBe(1);
    expect(badTrain.stderr).toMatch(/^gradpipe: --loss: /);
  });
});
