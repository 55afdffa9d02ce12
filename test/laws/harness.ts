/**
 * Runs a stage through every adapter (the reference interpreter, RxJS, IxJS async and sync) so a law can
 * be checked once for all of them.
 */
import { from, lastValueFrom, toArray as rxToArray } from 'rxjs';
import { from as ixFrom, toArray as ixToArray } from 'ix/asynciterable';
import { ix, ixSync, runStage, rx, type Stage } from '../../src/stages/stage.js';

export interface Runs<B> {
  readonly reference: B[];
  readonly rxjs: B[];
  readonly ixAsync: B[];
  readonly ixSync: B[];
}

export const runAll = async <A, B>(stage: Stage<A, B>, inputs: readonly A[]): Promise<Runs<B>> => ({
  reference: runStage(stage, inputs),
  rxjs: await lastValueFrom(from(inputs).pipe(rx(stage), rxToArray())),
  ixAsync: await ixToArray(ix(stage)(ixFrom(inputs))),
  ixSync: [...ixSync(stage)(inputs)],
});

/** Every adapter's output, for comparing two stages adapter by adapter. */
export const outputs = async <A, B>(stage: Stage<A, B>, inputs: readonly A[]): Promise<B[][]> => {
  const r = await runAll(stage, inputs);
  return [r.reference, r.rxjs, r.ixAsync, r.ixSync];
};
