import { fc, it as prop } from '@fast-check/vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/checkpoint.js';
import { parseJson, toJson } from '../../src/io/json.js';
import { tensorOf } from './support/arb.js';
import { useTmpDirs } from './support/tmpdir.js';

const tmp = useTmpDirs();

const ckpt = (step: number): _.Checkpoint => ({
  tensors: {
    'layers.0.weight': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, step]) },
    'layers.0.bias': { shape: [2], data: new Float32Array([0, -0]) },
    'opt.adam.m.0.weight': { shape: [2, 3], data: new Float32Array(6).fill(step / 10) },
  },
  state: { step, epoch: 1, batchInEpoch: step % 7, seed: 42, config: { lr: 0.1 }, rng: [1, 2, 3], history: [{ loss: Number.NaN }] },
});

const bits = (c: _.Checkpoint): unknown =>
  Object.entries(c.tensors).map(([k, t]) => [k, [...t.shape], [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]]);

const loaded = async (load: Promise<E.Either<{ message: string }, _.Checkpoint>>): Promise<_.Checkpoint> => {
  const r = await load;
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const f32 = tensorOf('F32').map((t) => ({ shape: t.shape, data: t.data as Float32Array }));

describe('checkpoints', () => {
  prop.prop([fc.dictionary(fc.string({ maxLength: 10 }).filter((s) => s !== '__metadata__'), f32, { maxKeys: 4 }), fc.jsonValue()], { numRuns: 100 })(
    'decodeCheckpoint(encodeCheckpoint(c)) = c (tensors bit for bit, state as JSON)',
    (tensors, state) => {
      const r = _.decodeCheckpoint(_.encodeCheckpoint({ tensors, state }), 'c');
      if (E.isLeft(r)) throw new Error(r.left.message);
      expect(bits(r.right)).toEqual(bits({ tensors, state }));
      // the state goes through json.ts (whose own law is tested in json.test.ts): -0 comes back as 0
      expect(r.right.state).toEqual(parseJson(toJson(state)));
    },
  );

  // Each run saves one to three checkpoints into a fresh folder (with fsyncs): 50 runs keep it quick.
  prop.prop([fc.array(fc.tuple(fc.dictionary(fc.string({ maxLength: 10 }).filter((s) => s !== '__metadata__'), f32, { maxKeys: 3 }), fc.jsonValue()), { minLength: 1, maxLength: 3 })], { numRuns: 50 })(
    'loadCheckpoint(dir) after saveCheckpoint(dir, c) = c (tensors bit for bit, state as JSON)',
    async (saves) => {
      const dir = join(tmp(), 'ckpt');
      for (const [tensors, state] of saves) expect(await _.saveCheckpoint(dir, { tensors, state })).toEqual(E.right(undefined));
      const [tensors, state] = saves.at(-1)!;
      const c = await loaded(_.loadCheckpoint(dir));
      expect(bits(c)).toEqual(bits({ tensors, state }));
      expect(c.state).toEqual(parseJson(toJson(state)));
    },
  );

  it('round-trips through a folder, NaN in the state included', async () => {
    const dir = join(tmp(), 'run', 'ckpt');
    expect(await _.saveCheckpoint(dir, ckpt(3))).toEqual(E.right(undefined));
    const c = await loaded(_.loadCheckpoint(dir));
    expect(bits(c)).toEqual(bits(ckpt(3)));
    expect(c.state).toEqual(ckpt(3).state);
    expect(readdirSync(dir)).toEqual([_.CHECKPOINT_FILE]);
  });

  it('keeps the previous checkpoint as checkpoint.prev.safetensors', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    await _.saveCheckpoint(dir, ckpt(2));
    await _.saveCheckpoint(dir, ckpt(3));
    expect(readdirSync(dir).sort()).toEqual([_.PREVIOUS_FILE, _.CHECKPOINT_FILE].sort());
    expect((await loaded(_.loadCheckpoint(dir))).state).toMatchObject({ step: 3 });
    expect((await loaded(_.loadCheckpointFile(join(dir, _.PREVIOUS_FILE)))).state).toMatchObject({ step: 2 });
  });

  it('refuses a truncated checkpoint, pointing at the intact previous one', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    await _.saveCheckpoint(dir, ckpt(2));
    const file = join(dir, _.CHECKPOINT_FILE);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    const r = await _.loadCheckpoint(dir);
    expect(r._tag).toBe('Left');
    if (E.isLeft(r)) {
      expect(r.left).toMatchObject({ _tag: 'ModelError', where: file });
      expect(r.left.message).toMatch(/is corrupted or truncated/);
      expect(r.left.hint).toContain(join(dir, _.PREVIOUS_FILE));
      expect(r.left.hint).toMatch(/is intact: rename it to .*checkpoint\.safetensors/);
    }
    expect((await loaded(_.loadCheckpointFile(join(dir, _.PREVIOUS_FILE)))).state).toMatchObject({ step: 1 });
  });

  it('refuses a checkpoint with one byte flipped in its tensor data', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    await _.saveCheckpoint(dir, ckpt(2));
    const file = join(dir, _.CHECKPOINT_FILE);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5]! ^= 0x01;
    writeFileSync(file, bytes);
    const r = await _.loadCheckpoint(dir);
    expect(E.isLeft(r) && r.left.message).toMatch(/content hash does not match/);
    expect(E.isLeft(r) && r.left.hint).toContain(_.PREVIOUS_FILE);
  });

  it('refuses a checkpoint whose state was edited (the hash covers the state too)', () => {
    const bytes = _.encodeCheckpoint(ckpt(5));
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('\\"step\\":5');
    expect(at).toBeGreaterThan(0);
    bytes[at + '\\"step\\":'.length] = '6'.charCodeAt(0);
    const r = _.decodeCheckpoint(bytes, 'c');
    expect(E.isLeft(r) && r.left.message).toMatch(/content hash does not match/);
  });

  it('does not rotate a damaged checkpoint over a good previous one', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    await _.saveCheckpoint(dir, ckpt(2));
    writeFileSync(join(dir, _.CHECKPOINT_FILE), 'garbage');
    await _.saveCheckpoint(dir, ckpt(3));
    expect((await loaded(_.loadCheckpoint(dir))).state).toMatchObject({ step: 3 });
    expect((await loaded(_.loadCheckpointFile(join(dir, _.PREVIOUS_FILE)))).state).toMatchObject({ step: 1 });
  });

  it('says only what is wrong when there is no intact previous checkpoint', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    writeFileSync(join(dir, _.CHECKPOINT_FILE), 'garbage!');
    const r = await _.loadCheckpoint(dir);
    expect(E.isLeft(r) && r.left.hint).toBe('restore it, or resume from the previous checkpoint');
    const missing = await _.loadCheckpoint(join(dir, 'none'));
    expect(missing).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', message: expect.stringMatching(/cannot read the checkpoint: no such file/) })));
  });

  it('saves over a leftover checkpoint.next.safetensors from a crashed save, which cleanCheckpointTemporaries removes', async () => {
    const dir = tmp();
    await _.saveCheckpoint(dir, ckpt(1));
    writeFileSync(join(dir, 'checkpoint.next.safetensors'), 'half a file');
    expect(await _.saveCheckpoint(dir, ckpt(2))).toEqual(E.right(undefined));
    expect((await loaded(_.loadCheckpoint(dir))).state).toMatchObject({ step: 2 });
    expect(await _.cleanCheckpointTemporaries(dir)).toEqual(['checkpoint.next.safetensors']);
    expect(readdirSync(dir).sort()).toEqual([_.PREVIOUS_FILE, _.CHECKPOINT_FILE].sort());
  });

  it('reports a folder it cannot create as an IOError', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), '');
    const r = await _.saveCheckpoint(join(dir, 'file', 'ckpt'), ckpt(1));
    expect(r).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', message: expect.stringMatching(/create the checkpoint folder/) })));
  });
});
