import { fc, it as prop } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { from, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { floatDataset, scalingOf } from '../../src/data/floatDataset.js';
import { checkFits } from '../../src/data/fits.js';
import { decodeModel, encodeModel } from '../../src/io/model.js';
import { initNetwork } from '../../src/nn/init.js';
import { predict } from '../../src/nn/predict.js';
import { rng } from '../../src/nn/random.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { rx } from '../../src/stages/stage.js';
import { initialTrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import { formatError, orThrow, type GradpipeError } from '../../src/errors.js';

const rowsArb = (width: number) =>
  fc.array(fc.array(fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 1000), { minLength: width, maxLength: width }), { minLength: 1, maxLength: 20 });

describe('floatDataset', () => {
  prop.prop([fc.integer({ min: 1, max: 5 }).chain((w) => rowsArb(w))])('with scaling none, the examples are the features as float32', (rows) => {
    const ds = orThrow(floatDataset({ features: rows, labels: rows.map((_, i) => i % 2) }));
    expect([...ds.images]).toEqual(rows.flat().map((v) => Math.fround(v)));
    expect([ds.count, ds.rows, ds.cols, ds.classes]).toEqual([rows.length, 1, rows[0]!.length, 2]);
  });

  prop.prop([fc.integer({ min: 1, max: 5 }).chain((w) => rowsArb(w))])('standardize gives each feature mean 0 and std 1 (0 for a constant one)', (rows) => {
    const ds = orThrow(floatDataset({ features: rows, labels: rows.map(() => 0), scaling: 'standardize' }));
    const w = ds.cols;
    for (let j = 0; j < w; j++) {
      const col = rows.map((r) => r[j]!);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
      const got = Array.from({ length: ds.count }, (_, i) => ds.images[i * w + j]!);
      const gm = got.reduce((a, b) => a + b, 0) / got.length;
      // the scaling stores mean and std as float32 (as the model file does): the mean's rounding, up to
      // |mean| 2^-24, shifts every standardised value by up to that over the std
      const shift = (Math.abs(mean) * 2 ** -24) / (sd >= 2 ** -126 ? sd : 1);
      expect(Math.abs(gm)).toBeLessThan(1e-3 + 1.01 * shift);
      if (sd > 1e-3 * Math.max(1, Math.abs(mean))) {
        const gsd = Math.sqrt(got.reduce((a, b) => a + (b - gm) ** 2, 0) / got.length);
        expect(gsd).toBeCloseTo(1, 2);
      }
    }
  });

  it('scales a test set with the training set scaling', () => {
    const train = orThrow(floatDataset({ features: [[0, 10], [2, 30]], labels: [0, 1], scaling: 'standardize' }));
    const test = orThrow(floatDataset({ features: [[1, 20]], labels: [0], scaling: scalingOf(train) }));
    expect([...test.images]).toEqual([0, 0]);
  });

  it('names the field it was given in its errors', () => {
    const msg = (r: E.Either<GradpipeError, unknown>): string =>
      E.isLeft(r) ? formatError(r.left) : 'Right';
    expect(msg(floatDataset({ features: [[1, 2], [3]], labels: [0, 1] }))).toMatch(/features\[1\]: has 1 values, features\[0\] has 2/);
    expect(msg(floatDataset({ features: [[1], [2]], labels: [0, 1.5] }))).toMatch(/labels\[1\]: 1.5 is not a class/);
    expect(msg(floatDataset({ features: [[1], [2]], labels: [0, 3], classes: 3 }))).toMatch(/labels\[1\]: 3 is not a class from 0 to 2.*classes: 4/);
    expect(msg(floatDataset({ features: [[1], [NaN]], labels: [0, 1] }))).toMatch(/features\[1\]\[0\]: NaN is not a finite number/);
    expect(msg(floatDataset({ features: [[1], [2]], labels: [0] }))).toMatch(/labels: has 1 labels for 2 feature rows/);
  });
});

describe('a network and data that do not fit', () => {
  it('names both sizes and what to change', () => {
    const net = orThrow(initNetwork({ sizes: [3, 4, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const wide = orThrow(floatDataset({ features: [[1, 2]], labels: [0] }));
    const many = orThrow(floatDataset({ features: [[1, 2, 3]], labels: [0], classes: 5 }));
    const fits = checkFits(net, wide);
    expect(E.isLeft(fits) && formatError(fits.left)).toMatch(/examples have 2 values but the network \(3-4-2\) takes 3 inputs; build the network with 2 inputs/);
    expect(() => evaluate(net, many, { loss: 'cross-entropy' })).toThrow(/has 5 classes but the network \(3-4-2\) has 2 outputs; build the network with 5 outputs/);
  });
});

/** Two interleaved half-moons would need depth; two offset Gaussian blobs in 2-D, far from 0..255. */
const blobs = (n: number, seed: number): { features: number[][]; labels: number[] } => {
  const r = rng(seed, 'blobs');
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  return { features: labels.map((l) => [1000 + 5 * gauss() + (l === 1 ? 12 : 0), -0.003 + 0.001 * gauss() + (l === 1 ? -0.002 : 0)]), labels };
};

describe('float data through the stages', () => {
  it('trains, evaluates, predicts like evaluate, and a saved model keeps the scaling', async () => {
    const train = orThrow(floatDataset({ ...blobs(400, 1), scaling: 'standardize' }));
    const testData = blobs(200, 2);
    const test = orThrow(floatDataset({ ...testData, scaling: scalingOf(train) }));
    const net = orThrow(initNetwork({ sizes: [2, 16, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 3));
    const opt = orThrow(optimizer({ kind: 'momentum', lr: 0.05, momentum: 0.9 }));
    const final = await lastValueFrom(
      from(epochBatches({ dataset: train, seed: 4, batchSize: 16, epochs: 5 })).pipe(rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt)))),
    );
    const e = evaluate(final.network, test, { loss: 'cross-entropy' });
    expect(e.accuracy).toBeGreaterThan(0.9);

    const preds = predict(final.network, testData.features, scalingOf(train));
    const correct = preds.filter((p, i) => p.class === testData.labels[i]).length;
    expect(correct / preds.length).toBe(e.accuracy);
    for (const p of preds) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);

    const loaded = orThrow(decodeModel(encodeModel(final.network, { loss: 'cross-entropy', scaling: scalingOf(train) }), 'm.safetensors'));
    expect(loaded.metadata['input']).toBe('standardize');
    const one = predict(loaded.network, testData.features[0]!, loaded.scaling);
    expect(one.class).toBe(preds[0]!.class);
    expect([...one.probabilities]).toEqual([...preds[0]!.probabilities]);
  });

  it('a model saved without a scaling loads as pixels/255, as older files do', () => {
    const net = orThrow(initNetwork({ sizes: [1, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const loaded = orThrow(decodeModel(encodeModel(net, { loss: 'cross-entropy' }), 'm.safetensors'));
    expect(loaded.scaling).toEqual({ kind: 'pixels/255' });
    expect(loaded.metadata['input']).toBe('pixels/255');
  });

  it('predict names the input that has the wrong length', () => {
    const net = orThrow(initNetwork({ sizes: [2, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    expect(() => predict(net, [[1, 2], [1, 2, 3]], { kind: 'none' })).toThrow(/inputs\[1\]: has 3 values, expected 2/);
  });
});
