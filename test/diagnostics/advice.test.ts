/**
 * The hints follow the configuration (issue 14, point 5): no "use --init he" when He is in use, no blame of
 * uniform weights when the init is not uniform, no "loss from logits" when it is, clipping advice that knows
 * the run clips; through the health findings of a real scan as well as the divergence hints.
 */
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/diagnostics/advice.js';
import { healthFindings, healthScan } from '../../src/diagnostics/health.js';
import { stepFindingAsFinding } from '../../src/diagnostics/monitor.js';
import { initNetwork, type Init } from '../../src/nn/init.js';
import { matrix } from '../../src/tensor/matrix.js';
import { unwrap } from '../arb/network.js';

const setup = (over: Partial<_.AdviceSetup> = {}): _.AdviceSetup => ({
  activation: 'relu',
  output: 'softmax',
  loss: 'cross-entropy',
  init: { kind: 'he' },
  optimizer: { clipNorm: undefined },
  ...over,
});

describe('advice follows the configuration', () => {
  it('divergence hints: the default configuration is told only to lower the rate and clip', () => {
    expect(_.divergenceHints(setup())).toEqual(['lower the learning rate (e.g. divide --lr by 10)', 'clip the gradient norm (--clip-norm 5)']);
    expect(_.divergenceHints(setup({ optimizer: { clipNorm: 5 } })).join('\n')).toMatch(/clip the gradient norm harder \(--clip-norm below 5\)/);
    // without a configuration, the general list
    expect(_.divergenceHints()).toHaveLength(4);
  });

  it('the init hint names the suited init and the one in use, and blames uniform weights only when they are uniform', () => {
    expect(_.initAdvice(setup())).toBeUndefined();
    expect(_.initAdvice(setup({ activation: 'tanh', init: { kind: 'glorot' } }))).toBeUndefined();
    expect(_.initAdvice(setup({ activation: 'sigmoid', init: { kind: 'he' } }))).toBe('use --init glorot, suited to sigmoid units (he is in use)');
    expect(_.initAdvice(setup({ init: { kind: 'uniform', low: 0, high: 1 } }))).toMatch(/--init he for relu units\): weights of uniform:0,1 /);
    expect(_.initAdvice(setup({ init: { kind: 'normal', std: 1 } }))).toMatch(/weights of normal:1 /);
    expect(_.lossAdvice(setup())).toBeUndefined();
    expect(_.lossAdvice(setup({ loss: 'mse' }))).toMatch(/--loss cross-entropy/);
  });

  it('health findings of huge logits under He init say neither "use --init he" nor U(0,1); under U(0,1) they do', () => {
    // a He network with weights blown up 1e3 times (what --lr 1e10 does): huge logits
    const scaled = (init: Init) => {
      const n = unwrap(initNetwork({ sizes: [16, 8, 4], hidden: 'relu', output: 'softmax' }, init, 3));
      return { ...n, layers: n.layers.map((l) => ({ ...l, weight: matrix(l.weight.rows, l.weight.cols, l.weight.data.map((w) => w * 1e3)) })) };
    };
    const inputs = matrix(8, 16, Float32Array.from({ length: 128 }, (_v, i) => ((i * 37) % 11) / 10));
    const targets = matrix(8, 4, Float32Array.from({ length: 32 }, (_v, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)));
    const he = healthFindings(healthScan(scaled({ kind: 'he' }), inputs, { loss: 'cross-entropy', targets }), setup());
    expect(he.map((f) => f.code)).toContain('huge-logits');
    for (const f of he) {
      expect(f.hint).not.toMatch(/--init he\b/);
      expect(f.hint).not.toMatch(/U\(0,1\)|uniform/);
    }
    const uni = { kind: 'uniform', low: 0, high: 1 } as const;
    const u = healthFindings(healthScan(scaled(uni), inputs, { loss: 'cross-entropy', targets }), setup({ init: uni }));
    expect(u.find((f) => f.code === 'huge-logits')?.hint).toMatch(/--init he for relu units\): weights of uniform:0,1/);
    // the monitor's findings too
    expect(stepFindingAsFinding({ layer: 1, kind: 'tiny-values', step: 3, epoch: 0, value: 1e-31 }, setup()).hint).toBe('lower the learning rate');
  });
});
