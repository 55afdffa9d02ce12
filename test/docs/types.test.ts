/**
 * Misuse that must not compile, checked by the compiler as a user's program would be: stopping on validation
 * results without a validation stage, and keeping a borrowed state where a value is required.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, typecheckExamples } from './typecheck.js';

const prelude = `
import { from } from 'rxjs';
import * as g from 'gradpipe';
const dataset: g.Dataset = { count: 4, rows: 1, cols: 2, classes: 2, images: Uint8Array.of(250, 10, 20, 240, 230, 0, 5, 255), labels: Uint8Array.of(0, 1, 0, 1) };
const net = g.orThrow(g.initNetwork({ sizes: [2, 4, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
const opt = g.orThrow(g.optimizer({ kind: 'sgd', lr: 0.5 }));
const states = from(g.epochBatches({ dataset, seed: 1, batchSize: 2, epochs: 3 })).pipe(g.rx(g.trainStep({ loss: 'cross-entropy', optimizer: opt, reuseBuffers: true }, g.initialTrainState(net, opt))));
`;

const misuse = {
  earlyStopping: 'states.pipe(g.rx(g.stopWhen(g.anyOf(g.maxEpochs(3), g.earlyStopping(2)))));',
  targetAccuracy: 'states.pipe(g.rx(g.stopWhen(g.targetAccuracy(0.9))));',
  keepBorrowed: 'states.subscribe((s) => { const kept: g.TrainState = s; void kept; });',
  checkpointBorrowed: 'states.subscribe((s) => { g.toCheckpoint(s, {}); });',
};

const scratch = join(root, 'test', '.examples', 'types');

const right = [
  prelude,
  "const validated = states.pipe(g.rx(g.validate(dataset, { loss: 'cross-entropy' })));",
  'validated.pipe(g.rx(g.stopWhen(g.anyOf(g.maxEpochs(3), g.earlyStopping(2), g.targetAccuracy(0.9)))));',
  'states.subscribe((s) => { const kept: g.TrainState = g.snapshot(s); g.toCheckpoint(kept, {}); });',
].join('\n');

describe('types', () => {
  // one compiler run for every program below
  const programs = [
    // an unused @ts-expect-error is itself an error: each misuse line must fail to compile
    { name: 'misuse', code: [prelude, ...Object.values(misuse).map((m) => `// @ts-expect-error\n${m}`)].join('\n') },
    ...Object.entries(misuse).map(([name, m]) => ({ name, code: `${prelude}\n${m}` })),
    { name: 'right', code: right },
  ];
  const errors = typecheckExamples(programs, scratch);
  const of = (name: string) => errors.filter((e) => e.startsWith(`${name}:`));

  it('using earlyStopping or targetAccuracy without validate, or keeping a borrowed state as a value, does not type-check', () => {
    expect(of('misuse')).toEqual([]);
  });

  it('each misuse fails on its own, and the right uses compile', () => {
    for (const name of Object.keys(misuse)) expect(of(name).length, name).toBeGreaterThan(0);
    expect(of('right')).toEqual([]);
  });
});
