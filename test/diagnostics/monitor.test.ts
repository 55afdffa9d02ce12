/**
 * The exploding-loss rule of the training monitor: its bound against closed forms, where it places the
 * explosion, and the wording of the divergence it makes.
 */
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/diagnostics/monitor.js';

const mags = (loss: number, activations: number[]): _.Magnitudes => ({ step: 1, activations, gradientNorm: 1, loss });

describe('the exploding-loss rule', () => {
  it('the loss of all-zero logits is the uniform guess: ln K for softmax cross-entropy, the closed form for the others', () => {
    for (const k of [2, 3, 10]) {
      expect(_.zeroLogitLoss('cross-entropy', 'softmax', k)).toBeCloseTo(Math.log(k), 12);
      // 1/2 ||softmax(0) - e_0||^2 = 1/2 ((1 - 1/K)^2 + (K - 1)/K^2)
      expect(_.zeroLogitLoss('mse', 'softmax', k)).toBeCloseTo(0.5 * ((1 - 1 / k) ** 2 + (k - 1) / k ** 2), 7);
      // sigmoid outputs of 0 logits are all 1/2
      expect(_.zeroLogitLoss('mse', 'sigmoid', k)).toBeCloseTo(0.5 * k * 0.25, 7);
    }
  });

  it('the bound is 1000 times the larger of the first loss and the uniform guess; a NaN first loss counts as absent', () => {
    expect(_.explosionBound(2.4, Math.log(10))).toBeCloseTo(2400, 9);
    // a run that starts from a good network (first loss 0.01) is held to the uniform guess, not to 10
    expect(_.explosionBound(0.01, Math.log(10))).toBeCloseTo(1000 * Math.log(10), 9);
    expect(_.explosionBound(NaN, 0.45)).toBeCloseTo(450, 9);
  });

  it('places the explosion in the first hidden layer whose activations grew past the factor, else in the logits', () => {
    const first = mags(2.3, [2, 3, 0.4]);
    const at1 = _.explosionLocation(5e6, 2300, first, [1500, 4000, 1]);
    expect(at1).toMatchObject({ kind: 'exploding-loss', layer: 1, tensor: 'activations', first: 3, now: 4000 });
    const at0 = _.explosionLocation(5e6, 2300, first, [2001, 1e9, 1]);
    expect(at0).toMatchObject({ layer: 0, first: 2, now: 2001 });
    // the output layer's activations (bounded probabilities) never count: the loss stands for its logits
    const logits = _.explosionLocation(5e6, 2300, first, [3, 3, 1e9]);
    expect(logits).toMatchObject({ layer: 2, tensor: 'logits', first: 2.3, now: 5e6 });
  });

  it('a divergence by explosion names the step, epoch, loss, bound and layer', () => {
    const d = _.divergence(7, 0, _.explosionLocation(5.7e6, 2380, mags(2.38, [2.24, 0.4]), [2.37e4, 1]), []);
    expect(d.message).toBe(
      'step 7 (epoch 1): the batch loss 5.70e+6 exceeds 2.38e+3 (1000 times its first value or the uniform guess\'s): exploding, first in the activations of layer 0, whose largest magnitude grew from 2.24e+0 to 2.37e+4',
    );
  });
});
