import { fc, it as prop } from '@fast-check/vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { toFloat32, toFloat64, type Network } from '../../src/nn/network.js';
import type { Float } from '../../src/tensor/matrix.js';
import { contentHash } from '../../src/io/contentHash.js';
import * as _ from '../../src/io/model.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../src/io/safetensors.js';
import { network, networkBits } from './support/arb.js';
import { useTmpDirs } from './support/tmpdir.js';

const tmp = useTmpDirs();
const FILE = 'runs/model.safetensors';

const small: Network = {
  layers: [
    { weight: { rows: 3, cols: 2, data: new Float32Array([1, 2, 3, 4, 5, 6]) }, bias: new Float32Array([0.5, -0.5, 0]), activation: 'relu' },
    { weight: { rows: 2, cols: 3, data: new Float32Array([-1, 0, 1, 0.25, 0.5, 0.75]) }, bias: new Float32Array([1, -1]), activation: 'softmax' },
  ],
};

const expectRefused = (r: E.Either<{ _tag: string; where: string; message: string; hint: string }, unknown>, message: RegExp, where = FILE): void => {
  expect(r._tag).toBe('Left');
  if (E.isLeft(r)) {
    expect(r.left._tag).toBe('ModelError');
    expect(r.left.where).toBe(where);
    expect(r.left.message).toMatch(message);
  }
};

/** A gradpipe/1 file with a valid hash over arbitrary tensors and metadata: to test the checks after the hash. */
const forged = (tensors: Record<string, Tensor>, metadata: Record<string, string>): Uint8Array =>
  encodeSafetensors(tensors, { ...metadata, sha256: contentHash(tensors, metadata) });

describe('encodeModel', () => {
  it('writes standard safetensors: layers.{i}.weight [out, in], layers.{i}.bias [out], F32, with the metadata', () => {
    const r = decodeSafetensors(_.encodeModel(small, { loss: 'cross-entropy', extra: { seed: '42' } }), FILE);
    if (E.isLeft(r)) throw new Error(r.left.message);
    const { tensors, metadata } = r.right;
    expect(Object.keys(tensors)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(tensors['layers.0.weight']).toEqual({ dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(tensors['layers.1.bias']).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1, -1]) });
    expect(metadata).toMatchObject({ format: 'gradpipe/1', activations: 'relu,softmax', loss: 'cross-entropy', input: 'pixels/255', seed: '42' });
    expect(metadata.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('converts a float64 network to float32', () => {
    const net64: Network<Float64Array> = {
      layers: [{ weight: { rows: 1, cols: 1, data: new Float64Array([0.1]) }, bias: new Float64Array([1 / 3]), activation: 'identity' }],
    };
    const r = _.decodeModel(_.encodeModel(net64, { loss: 'mse' }), FILE);
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.network.layers[0]!.weight.data).toEqual(new Float32Array([0.1]));
    expect(r.right.network.layers[0]!.bias).toEqual(new Float32Array([1 / 3]));
  });

  it('throws when extra metadata would overwrite a reserved key', () => {
    expect(() => _.encodeModel(small, { loss: 'mse', extra: { sha256: 'x' } })).toThrow(/reserved/);
  });
});

describe('decodeModel', () => {
  prop.prop([network, fc.constantFrom('cross-entropy', 'mse')], { numRuns: 100 })(
    'decodeModel(encodeModel(net, meta)) = { network: toFloat32(net), loss: meta.loss, ... }',
    (net, loss) => {
      const r = _.decodeModel(_.encodeModel(net, { loss }), FILE);
      if (E.isLeft(r)) throw new Error(r.left.message);
      expect(networkBits(r.right.network)).toEqual(networkBits(net));
      expect(r.right.loss).toBe(loss);
    },
  );

  prop.prop([network, fc.double({ min: 0, max: 1, maxExcluded: true })], { numRuns: 100 })('refuses every truncation', (net, cut) => {
    const bytes = _.encodeModel(net, { loss: 'mse' });
    const r = _.decodeModel(bytes.subarray(0, Math.floor(cut * bytes.length)), FILE);
    expectRefused(r, /is corrupted or truncated/);
    if (E.isLeft(r)) expect(r.left.hint).toBe('re-train or restore it');
  });

  prop.prop([network, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 200 })(
    'refuses any changed byte in the tensor data (content hash)',
    (net, at, mask) => {
      const bytes = _.encodeModel(net, { loss: 'mse' });
      const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
      bytes[dataStart + (at % (bytes.length - dataStart))]! ^= mask;
      expectRefused(_.decodeModel(bytes, FILE), /is corrupted or truncated \(its content hash does not match\)/);
    },
  );

  prop.prop([network, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 300 })(
    'a changed byte anywhere is refused or leaves the model exactly as it was (e.g. a space turned into a tab)',
    (net, at, mask) => {
      const bytes = _.encodeModel(net, { loss: 'mse' });
      bytes[at % bytes.length]! ^= mask;
      const r = _.decodeModel(bytes, FILE);
      if (E.isRight(r)) {
        expect(networkBits(r.right.network)).toEqual(networkBits(net));
        expect(r.right.loss).toBe('mse');
      } else {
        expect(r.left._tag).toBe('ModelError');
      }
    },
  );

  it('refuses a safetensors file that gradpipe did not write', () => {
    const foreign = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expectRefused(_.decodeModel(foreign, FILE), /is not a gradpipe file/);
  });

  it('refuses another format version', () => {
    const tensors = _.networkTensors(small);
    expectRefused(_.decodeModel(forged(tensors, { format: 'gradpipe/2', activations: 'relu,softmax', loss: 'mse' }), FILE), /format 'gradpipe\/2'/);
  });

  it('refuses a file without a content hash', () => {
    const bytes = encodeSafetensors(_.networkTensors(small), { format: 'gradpipe/1', activations: 'relu,softmax', loss: 'mse' });
    expectRefused(_.decodeModel(bytes, FILE), /content hash is missing/);
  });

  it('refuses an unknown activation, naming the layer', () => {
    const meta = { format: 'gradpipe/1', activations: 'relu,swish', loss: 'mse' };
    expectRefused(_.decodeModel(forged(_.networkTensors(small), meta), FILE), /layer 1 has the unknown activation 'swish'/);
  });

  it('refuses layers whose sizes do not chain', () => {
    const tensors = _.networkTensors(small);
    tensors['layers.1.weight'] = { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) };
    const meta = { format: 'gradpipe/1', activations: 'relu,softmax', loss: 'mse' };
    expectRefused(_.decodeModel(forged(tensors, meta), FILE), /layer 1: takes 2 inputs but layer 0 gives 3 outputs/);
  });

  it('refuses a missing layer tensor, and layer tensors beyond the activations listed', () => {
    const meta = { format: 'gradpipe/1', activations: 'relu,softmax', loss: 'mse' };
    const { 'layers.1.bias': _dropped, ...missing } = _.networkTensors(small);
    expectRefused(_.decodeModel(forged(missing, meta), FILE), /layer 1 has no weight or bias tensor/);
    expectRefused(_.decodeModel(forged(_.networkTensors(small), { ...meta, activations: 'relu' }), FILE), /more layer tensors than the 1 activations/);
  });
});

describe('saveModel and loadModel', () => {
  // Each save is an atomic, fsynced write: 50 runs keep it quick.
  prop.prop([network, fc.boolean(), fc.constantFrom('cross-entropy' as const, 'mse' as const)], { numRuns: 50 })(
    'loadModel(file) after saveModel(file, net, meta) gives the float32 network and meta.loss',
    async (net32, wide, loss) => {
      const net: Network<Float> = wide ? toFloat64(net32) : net32;
      const file = join(tmp(), 'model.safetensors');
      expect(await _.saveModel(file, net, { loss })).toEqual(E.right(undefined));
      const r = await _.loadModel(file);
      if (E.isLeft(r)) throw new Error(r.left.message);
      expect(networkBits(r.right.network)).toEqual(networkBits(toFloat32(net)));
      expect(r.right.loss).toBe(loss);
    },
  );

  it('round-trips through a file', async () => {
    const file = join(tmp(), 'model.safetensors');
    expect(await _.saveModel(file, small, { loss: 'cross-entropy' })).toEqual(E.right(undefined));
    const r = await _.loadModel(file);
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(networkBits(r.right.network)).toEqual(networkBits(small));
    expect(r.right.loss).toBe('cross-entropy');
  });

  it('refuses a truncated file on disk with the advice to re-train or restore it', async () => {
    const file = join(tmp(), 'model.safetensors');
    const bytes = _.encodeModel(small, { loss: 'mse' });
    writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    const r = await _.loadModel(file);
    expectRefused(r, /is corrupted or truncated/, file);
    if (E.isLeft(r)) expect(r.left.hint).toBe('re-train or restore it');
  });

  it('reports a missing file as an IOError naming it', async () => {
    const file = join(tmp(), 'nope.safetensors');
    expect(await _.loadModel(file)).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', where: file, message: expect.stringMatching(/no such file/) })));
  });
});
