/**
 * Bad options: each one gives exactly one line `gradpipe: --option: what is wrong; valid values`, exit 1,
 * before any data is read (the data folder given does not exist, so reading it would be a different error).
 * Run in-process for speed; the subprocess tests check the same path once through the real process.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { TRAIN_SPEC } from '../../src/cli/train.js';
import { flagFor, inCliTerms, optionText, parseLayers, parseTrainArgs, presetText, resumedOptions, TRAIN_CONFIG_OPTIONS } from '../../src/cli/options.js';
import { helpText } from '../../src/cli/args.js';
import { PRESET_NAMES, PRESETS } from '../../pipelines/presets.js';
import { optimizer, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { dataError, optionError } from '../../src/errors.js';
import { initNetwork } from '../../src/nn/init.js';
import { resolveBackend, resolveBackendWith } from '../../src/tensor/select.js';
import { defaultTrainOptions } from '../../pipelines/mnist.js';
import { runMain } from './helpers.js';

const NO_DATA = '/nonexistent/gradpipe-test-data';

/** [arguments, the option the one line must name]. */
const BAD: readonly (readonly [readonly string[], string])[] = [
  [['--lr', 'abc'], '--lr'],
  [['--lr=-1'], '--lr'],
  [['--lr', '-1'], '--lr'],
  [['--lr', 'Infinity'], '--lr'],
  [['--lr', 'NaN'], '--lr'],
  [['--lr', ''], '--lr'],
  [['--lr'], '--lr'],
  [['--momentum', '1'], '--momentum'],
  [['--weight-decay=-0.1'], '--weight-decay'],
  [['--clip-norm', '0'], '--clip-norm'],
  [['--batch-size', '0'], '--batch-size'],
  [['--batch-size', '1.5'], '--batch-size'],
  [['--batch-size', '1e3'], '--batch-size'],
  [['--epochs', '0'], '--epochs'],
  [['--epochs=-3'], '--epochs'],
  [['--max-steps', 'many'], '--max-steps'],
  [['--validation=-1'], '--validation'],
  [['--time-limit', '0'], '--time-limit'],
  [['--seed', '1.5'], '--seed'],
  [['--seed', '99999999999'], '--seed'],
  [['--train-limit', '0'], '--train-limit'],
  [['--test-limit', 'abc'], '--test-limit'],
  [['--layers', '100-10'], '--layers'],
  [['--layers', '784-1000-9'], '--layers'],
  [['--layers', '784'], '--layers'],
  [['--layers', '784-0-10'], '--layers'],
  [['--layers', '784-x-10'], '--layers'],
  [['--layers', '784-100000-100000-10'], '--layers'],
  [['--activation', 'softmax'], '--activation'],
  [['--activation', 'swish'], '--activation'],
  [['--output', 'relu'], '--output'],
  [['--loss', 'hinge'], '--loss'],
  [['--loss', 'cross-entropy', '--output', 'identity'], '--loss'],
  [['--init', 'xavier'], '--init'],
  [['--init', 'uniform:1,0'], '--init'],
  [['--init', 'normal:-1'], '--init'],
  [['--optimizer', 'rmsprop'], '--optimizer'],
  [['--lr-schedule', 'linear'], '--lr-schedule'],
  [['--lr-schedule', 'step:0,0.5'], '--lr-schedule'],
  [['--target-accuracy', '1.5', '--validation', '100'], '--target-accuracy'],
  [['--target-accuracy', '0.9'], '--target-accuracy'],
  [['--patience', '2'], '--patience'],
  [['--patience', '0', '--validation', '100'], '--patience'],
  [['--validation', '500', '--train-limit', '500'], '--validation'],
  [['--backend', 'gpu'], '--backend'],
  [['--threads', '0'], '--threads'],
  [['--bogus'], '--bogus'],
  [['--json=yes'], '--json'],
  [['--lr', '0.1', '--lr', '0.2'], '--lr'],
  [['stray'], 'gradpipe train'],
  [['--dropout', '1'], '--dropout'],
  [['--dropout', '-0.1'], '--dropout'],
  [['--affine', '1,2,3,4,5'], '--affine'],
  [['--affine', '1,x'], '--affine'],
  [['--elastic', '34'], '--elastic'],
  [['--elastic', '34,0'], '--elastic'],
  [['--preset', 'fastest'], '--preset'],
  [['--augment-threads', '-1'], '--augment-threads'],
  [['--batch-threads', '65'], '--batch-threads'],
  [['--held-out', 'sometimes'], '--held-out'],
];

describe('gradpipe train: bad options', () => {
  it.each(BAD)('%j: one line naming %s, exit 1, before any data is read', async (args, option) => {
    const r = await runMain(['train', '--data', NO_DATA, ...args]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`gradpipe: ${option}: `)).toBe(true);
    // what is wrong; what to do
    expect(lines[0]).toMatch(/^gradpipe: [^:]+: .+; .+/);
    expect(lines[0]).not.toContain(NO_DATA);
  });

  it('an unknown command or missing data is one line too', async () => {
    const r = await runMain(['trian']);
    expect([r.code, r.stderr]).toEqual([1, 'gradpipe: trian: unknown command; use one of train, eval, predict, doctor, download, info, serve (gradpipe --help)\n']);
    const d = await runMain(['train', '--data', NO_DATA]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^gradpipe: --data: \/nonexistent\/gradpipe-test-data \(missing all four files\) is not an MNIST-layout data directory; run `gradpipe download`.*\n$/);
  });

  it('every subcommand has --help, and gradpipe --help lists them', async () => {
    const top = await runMain(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['train', 'eval', 'predict', 'doctor', 'download', 'info', 'serve']) {
      expect(top.stdout).toContain(`  ${cmd} `);
      const r = await runMain([cmd, '--help']);
      expect([cmd, r.code]).toEqual([cmd, 0]);
      expect(r.stdout).toMatch(new RegExp(`^Usage: gradpipe ${cmd}`));
    }
    const train = await runMain(['train', '--help']);
    for (const name of Object.keys(TRAIN_CONFIG_OPTIONS)) expect(train.stdout).toContain(`--${name}`);
  });
});

describe('parseTrainArgs', () => {
  const parse = (argv: readonly string[]) => parseTrainArgs(argv, TRAIN_SPEC);

  it('maps every training option into TrainOptions', () => {
    const r = parse([
      ...['--layers', '784-300-100-10', '--activation', 'tanh', '--output', 'sigmoid', '--loss', 'mse', '--init', 'uniform:-0.1,0.1'],
      ...['--optimizer', 'nesterov', '--lr', '0.2', '--momentum', '0.8', '--weight-decay', '1e-4', '--clip-norm', '5', '--lr-schedule', 'step:2,0.5'],
      ...['--batch-size', '16', '--epochs', '4', '--max-steps', '900', '--validation', '100', '--target-accuracy', '97.5%', '--patience', '2'],
      ...['--min-delta', '0.001', '--time-limit', '30', '--seed', '7', '--train-limit', '1000', '--test-limit', '200', '--backend', 'ts', '--threads', '1'],
      ...['--dropout', '0.3', '--affine', '1,5,0.05,0.1', '--elastic', '30,4', '--batch-threads', '2', '--held-out', 'none'],
    ]);
    if (E.isLeft(r)) expect.fail(r.left.message);
    expect(r.right.options).toEqual({
      layers: [784, 300, 100, 10],
      activation: 'tanh',
      output: 'sigmoid',
      loss: 'mse',
      init: { kind: 'uniform', low: -0.1, high: 0.1 },
      optimizer: { ...defaultTrainOptions.optimizer, kind: 'nesterov', lr: 0.2, momentum: 0.8, weightDecay: 1e-4, clipNorm: 5 },
      schedule: { kind: 'step', every: 2, gamma: 0.5 },
      batchSize: 16,
      epochs: 4,
      maxSteps: 900,
      validation: 100,
      targetAccuracy: 0.975,
      patience: 2,
      minDelta: 0.001,
      timeLimit: 30,
      seed: 7,
      trainLimit: 1000,
      testLimit: 200,
      dropout: 0.3,
      augment: { affine: { shift: 1, rotation: 5, scale: 0.05, shear: 0.1 }, elastic: { alpha: 30, sigma: 4 } },
      batchWorkers: 2,
      heldOut: false,
    });
    expect([r.right.backend, r.right.threads]).toEqual(['ts', 1]);
    expect(r.right.given).toHaveLength(Object.keys(TRAIN_CONFIG_OPTIONS).length);
  });

  it('presets override: --preset best sets its options, and options given with it override them', () => {
    const best = parse(['--preset', 'best']);
    if (E.isLeft(best)) expect.fail(best.left.message);
    expect(best.right.options).toEqual({ ...defaultTrainOptions, ...PRESETS.best });
    expect(best.right.options).not.toEqual(defaultTrainOptions);
    const fast = parse(['--preset', 'fast']);
    expect(E.isRight(fast) && fast.right.options).toEqual(defaultTrainOptions);
    const mine = parse(['--epochs', '3', '--preset', 'best', '--dropout', '0', '--affine', 'none', '--elastic', '34,4', '--layers', '784-50-10']);
    if (E.isLeft(mine)) expect.fail(mine.left.message);
    expect(mine.right.options).toEqual({ ...defaultTrainOptions, ...PRESETS.best, epochs: 3, dropout: 0, augment: { elastic: { alpha: 34, sigma: 4 } }, layers: [784, 50, 10] });
  });

  fcTest.prop([fc.constantFrom(...PRESET_NAMES), fc.integer({ min: 1, max: 99 }), fc.double({ min: 0, max: 0.9, noNaN: true })])('presets override: any option given with a preset wins over it', (name, epochs, dropout) => {
    const r = parse(['--preset', name, '--epochs', String(epochs), '--dropout', String(dropout)]);
    if (E.isLeft(r)) expect.fail(r.left.message);
    expect(r.right.options).toEqual({ ...defaultTrainOptions, ...PRESETS[name], epochs, dropout });
  });

  it('train --help lists what each preset sets', () => {
    const help = helpText(TRAIN_SPEC);
    expect(help).toContain('fast: the defaults');
    expect(help).toContain(`best: ${presetText('best')}`);
    for (const flag of ['--layers 784-1000-1000-10', '--dropout 0.2', '--affine 2,10,0.1,0.2', '--epochs 40']) expect(presetText('best')).toContain(flag);
  });

  it('no options give the pipeline defaults; adam without --lr gets its own rate', () => {
    const r = parse([]);
    expect(E.isRight(r) && r.right.options).toEqual(defaultTrainOptions);
    const adam = parse(['--optimizer', 'adam']);
    expect(E.isRight(adam) && adam.right.options.optimizer.lr).toBe(0.001);
  });

  fcTest.prop([fc.double({ noNaN: true, noDefaultInfinity: true })], { numRuns: 200 })('should respect the law: --lr x is accepted iff x >= 0, as x', (x) => {
    const r = parse([`--lr=${String(x)}`]);
    expect(E.isRight(r)).toBe(x >= 0);
    if (E.isRight(r)) expect(r.right.options.optimizer.lr).toBe(x === 0 ? 0 : x);
  });

  fcTest.prop([fc.integer({ min: -5, max: 2_000_000 })], { numRuns: 200 })('should respect the law: --batch-size n is accepted iff 1 <= n <= 1e6', (n) => {
    const r = parse([`--batch-size=${n}`]);
    expect(E.isRight(r)).toBe(n >= 1 && n <= 1_000_000);
    if (E.isLeft(r)) expect(r.left.where).toBe('--batch-size');
  });

  fcTest.prop([fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 0, maxLength: 4 })], { numRuns: 100 })(
    'should respect the law: parseLayers(sizes.join("-")) = sizes for 784-...-10',
    (hidden) => {
      const sizes = [784, ...hidden, 10];
      expect(parseLayers(sizes.join('-'))).toEqual(E.right(sizes));
      expect(optionText({ ...defaultTrainOptions, layers: sizes }, 'layers')).toBe(sizes.join('-'));
    },
  );
});

describe('resumedOptions', () => {
  const stored = { ...defaultTrainOptions, epochs: 3, trainLimit: 1000 };
  const args = (argv: readonly string[]) => {
    const r = parseTrainArgs([...argv, '--resume', 'x'], { ...TRAIN_SPEC });
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  };

  it('takes the checkpoint options; --epochs may extend them, --time-limit and --max-steps are per run', () => {
    expect(resumedOptions(stored, args([]), 'run', 3)).toEqual(E.right(stored));
    expect(resumedOptions(stored, args(['--epochs', '5', '--time-limit', '9', '--max-steps', '99']), 'run', 3)).toEqual(E.right({ ...stored, epochs: 5, timeLimit: 9, maxSteps: 99 }));
  });

  it('refuses a contradicting option, and fewer epochs than done; repeating the stored value is fine', () => {
    const lr = resumedOptions(stored, args(['--lr', '0.3']), 'run', 3);
    expect(E.isLeft(lr) && [lr.left.where, lr.left.message]).toEqual(['--lr', `0.3 conflicts with the checkpoint in run, which was trained with ${stored.optimizer.lr}`]);
    const epochs = resumedOptions(stored, args(['--epochs', '2']), 'run', 3);
    expect(E.isLeft(epochs) && epochs.left.where).toBe('--epochs');
    expect(E.isRight(resumedOptions(stored, args(['--train-limit', '1000', '--layers', '784-1000-10']), 'run', 3))).toBe(true);
  });
});

describe("the optimizer's field names in the command's terms", () => {
  it('maps each field the train command sets to its flag', () => {
    // beta1, beta2 and epsilon have no flags: the command never sets them
    const bad: Partial<Record<keyof OptimizerConfig, unknown>>[] = [{ lr: -1 }, { momentum: 1 }, { weightDecay: -1 }, { clipNorm: 0 }, { kind: 'rmsprop' }];
    const flags = Object.keys(TRAIN_SPEC.options).map((o) => `--${o}`);
    for (const c of bad) {
      const r = optimizer(c as Partial<OptimizerConfig>);
      expect(E.isLeft(r)).toBe(true);
      if (E.isLeft(r)) expect(flags).toContain(flagFor(r.left.where));
    }
    expect(flagFor('optimizer.weightDecay')).toBe('--weight-decay');
  });

  it('names library fields in the library and maps them to flags in the CLI (spec.sizes, backend, threads)', async () => {
    const sizes = initNetwork({ sizes: [784], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1);
    const threads = await resolveBackend('ts', 0);
    const backend = await resolveBackendWith({ native: async () => E.left(optionError('native', 'no addon', 'build it')), wasm: async () => E.left(optionError('wasm', 'no wasm', 'build it')), ts: async () => E.left(optionError('ts', 'x', 'y')) })('native');
    const wheres = [sizes, threads, backend].map((r) => (E.isLeft(r) ? r.left.where : 'accepted'));
    expect(wheres).toEqual(['spec.sizes', 'threads', 'backend']);
    expect(wheres.map((w) => inCliTerms(optionError(w, 'm', 'h')).where)).toEqual(['--layers', '--threads', '--backend']);
    expect(inCliTerms(dataError('data/x.idx', 'm', 'h')).where).toBe('data/x.idx');
  });
});
