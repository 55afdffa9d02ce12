/**
 * The default backend in library use (src/tensor/registry.ts). Each test loads a fresh copy of the
 * registry (the suite's set-up pins the reference backend in the shared one), so nothing is pinned yet.
 */
import * as E from 'fp-ts/lib/Either.js';
import { from, lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveBackend } from '../../src/tensor/select.js';

type Registry = typeof import('../../src/tensor/registry.js');
type Stages = typeof import('../../src/stages/stage.js');

const fresh = async (): Promise<{ reg: Registry; stages: Stages }> => {
  vi.resetModules();
  const reg = (await import('../../src/tensor/registry.js')) as Registry;
  const stages = (await import('../../src/stages/stage.js')) as Stages;
  return { reg, stages };
};

const saved = process.env['GRADPIPE_BACKEND'];
afterEach(() => {
  if (saved === undefined) delete process.env['GRADPIPE_BACKEND'];
  else process.env['GRADPIPE_BACKEND'] = saved;
});

describe('the default backend', () => {
  it('is the reference until chosen, then what --backend auto chooses, once, with its reason', async () => {
    delete process.env['GRADPIPE_BACKEND'];
    const { reg } = await fresh();
    expect(reg.backendChosen()).toBe(false);
    expect(reg.getBackend().name).toBe('ts');
    const oracle = await resolveBackend('auto');
    if (E.isLeft(oracle)) return expect.fail(oracle.left.message);
    oracle.right.backend.dispose();
    const chosen = await reg.ready();
    expect(chosen.backend.name).toBe(oracle.right.backend.name);
    expect(reg.backendStatus()).toBe(oracle.right.why);
    expect(reg.getBackend()).toBe(chosen.backend);
    expect((await reg.ready()).backend).toBe(chosen.backend);
    chosen.backend.dispose();
  });

  it('is chosen by the first pipeline run through rx, before its first step', async () => {
    process.env['GRADPIPE_BACKEND'] = 'ts';
    const { reg, stages } = await fresh();
    const seen: boolean[] = [];
    const probe = stages.map((x: number) => (seen.push(reg.backendChosen()), x));
    expect(await lastValueFrom(from([1, 2]).pipe(stages.rx(probe)))).toBe(2);
    expect(seen).toEqual([true, true]);
    expect(reg.backendStatus()).toBe('ts: chosen with GRADPIPE_BACKEND=ts');
  });

  it('follows a pin with setBackend, which ready() does not replace', async () => {
    delete process.env['GRADPIPE_BACKEND'];
    const { reg } = await fresh();
    const pinned = { ...reg.tsBackend, name: 'wasm' as const };
    reg.setBackend(pinned);
    expect((await reg.ready()).backend).toBe(pinned);
    expect(reg.backendStatus()).toBe('wasm: pinned with setBackend');
  });

  it('names GRADPIPE_BACKEND when it holds something else than a backend', async () => {
    process.env['GRADPIPE_BACKEND'] = 'gpu';
    const { reg } = await fresh();
    await expect(reg.ready()).rejects.toThrow(/GRADPIPE_BACKEND: "gpu" is not a backend; set it to one of auto, native, wasm, ts/);
  });
});
