/**
 * The health scan as a tap during training: its two laws over training-like state sequences (the scan
 * replaced by one that records which networks it saw and returns findings drawn by fast-check), and the
 * real scan on a saturated network.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/diagnostics/health.js';
import type { ProbeScan } from '../../src/diagnostics/probe.js';
import { initNetwork } from '../../src/nn/init.js';
import { cloneNetwork, type Network } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { toBatch } from '../../src/stages/batch.js';
import { readDataset } from '../../src/stages/read.js';
import { scanHealth, type HealthFinding } from '../../src/stages/scanHealth.js';
import { randomDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';
import { outputs } from '../laws/harness.js';

const ds = randomDataset(3, 8, 2, 2, 3);
const probe = toBatch([...readDataset(ds)], 3);
const setup = { activation: 'relu', output: 'softmax', loss: 'cross-entropy', init: { kind: 'he' }, optimizer: { clipNorm: undefined } } as const;
const net = unwrap(initNetwork({ sizes: [4, 3, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
const opt = unwrap(optimizer({ kind: 'sgd', lr: 0.1 }));
const base = initialTrainState(net, opt);

const finding = fc.record({ code: fc.constantFrom('saturated' as const, 'dead-units' as const, 'tiny-values' as const), layer: fc.constantFrom(0, 1, undefined) }).map(
  (f): Finding => ({ ...f, severity: 'problem', where: `layer ${f.layer}`, message: 'm', hint: 'h' }),
);

/** States with their own networks (so the scan's argument says which state it scanned), epoch ends, and what a scan of each would find. */
const arbRun = fc.array(fc.record({ endOfEpoch: fc.boolean(), found: fc.array(finding, { maxLength: 3 }) }), { maxLength: 20 }).map((xs) => {
  let epoch = 0;
  const states = xs.map((x, i): StateView => {
    const s: StateView = { ...base, network: cloneNetwork(net), step: i + 1, epoch, endOfEpoch: x.endOfEpoch };
    if (x.endOfEpoch) epoch++;
    return s;
  });
  return { states, found: new Map<Network, readonly Finding[]>(states.map((s, i) => [s.network, xs[i]!.found])) };
});

const recording = (found: Map<Network, readonly Finding[]>, scanned: Network[]) => (n: Network): ProbeScan => {
  scanned.push(n);
  return { scan: { loss: 1, accuracy: 0.9, layers: [] }, findings: found.get(n) ?? [] };
};

describe('scanHealth', () => {
  test.prop([arbRun, fc.integer({ min: 1, max: 22 })], { numRuns: 100 })(
    'scanHealth is the identity on the stream: it emits every state it receives, unchanged and in order',
    async ({ states, found }, early) => {
      const stage = scanHealth<StateView>({ probe, setup, early, onFinding: () => {}, scan: recording(found, []) });
      for (const out of await outputs(stage, states)) {
        expect(out.length).toBe(states.length);
        out.forEach((s, i) => expect(s).toBe(states[i]));
      }
    },
  );

  test.prop([arbRun, fc.integer({ min: 1, max: 22 }), fc.array(finding, { maxLength: 3 })], { numRuns: 100 })(
    'it scans exactly the states of the early step and those that end an epoch, and tells each finding (code and layer) once, none of those in `told`',
    ({ states, found }, early, before) => {
      const scanned: Network[] = [];
      const told: HealthFinding[] = [];
      const stage = scanHealth<StateView>({ probe, setup, early, told: before, onFinding: (f) => void told.push(f), scan: recording(found, scanned) });
      let st = stage.init();
      for (const s of states) st = stage.step(st, s).state;
      // an independent oracle: which states, and the first occurrence of every (code, layer) among their findings
      const expected = states.filter((s) => s.step === early || s.endOfEpoch);
      expect(scanned).toEqual(expected.map((s) => s.network));
      const first = new Map<string, { step: number; code: string }>();
      const toldBefore = new Set(before.map((f) => `${f.code}/${f.layer}`));
      for (const s of expected) for (const f of found.get(s.network)!) if (!first.has(`${f.code}/${f.layer}`) && !toldBefore.has(`${f.code}/${f.layer}`)) first.set(`${f.code}/${f.layer}`, { step: s.step, code: f.code });
      expect(told.map((f) => ({ step: f.step, code: f.code }))).toEqual([...first.values()]);
    },
  );

  it('the real scan names the saturated layer of U(0,1) sigmoid units, and an accuracy at chance only at an epoch end', () => {
    const big = randomDataset(7, 64, 28, 28, 10);
    const p = toBatch([...readDataset(big)], 10);
    const seed = { activation: 'sigmoid', output: 'softmax', loss: 'mse', init: { kind: 'uniform', low: 0, high: 1 }, optimizer: { clipNorm: undefined } } as const;
    const n = unwrap(initNetwork({ sizes: [784, 100, 10], hidden: 'sigmoid', output: 'softmax' }, seed.init, 1));
    const told: HealthFinding[] = [];
    const stage = scanHealth<StateView>({ probe: p, setup: seed, early: 1, onFinding: (f) => void told.push(f) });
    let st = stage.init();
    st = stage.step(st, { ...base, network: n, step: 1 }).state;
    expect(told.find((f) => f.code === 'saturated' && f.layer === 0)?.message).toMatch(/^\d+\.\d% of outputs are saturated/);
    expect(told.some((f) => f.code === 'at-chance')).toBe(false);
    stage.step(st, { ...base, network: n, step: 2, endOfEpoch: true });
    // one class predicted for every example: at most the share of that class, near 10% on random labels
    expect(told.filter((f) => f.code === 'saturated' && f.layer === 0)).toHaveLength(1);
    expect(told.find((f) => f.code === 'at-chance')?.step).toBe(2);
  });
});
