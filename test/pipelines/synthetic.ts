/**
 * Seeded synthetic image datasets for the pipeline examples (never MNIST bytes). Every class has a random
 * binary prototype drawn from `protoSeed`; an example is its class's prototype with each pixel flipped with
 * probability `flip`, and a fraction `labelNoise` of the labels replaced by random ones. Datasets drawn with
 * the same `protoSeed` and different `seed`s are a train / validation / test split of one task.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';
import { randomInt, rng } from '../../src/nn/random.js';

export interface SyntheticSpec {
  readonly count: number;
  readonly seed: number;
  readonly classes?: number;
  readonly rows?: number;
  readonly cols?: number;
  readonly protoSeed?: number;
  readonly flip?: number;
  readonly labelNoise?: number;
}

export const synthetic = (spec: SyntheticSpec): Dataset<Uint8Array> => {
  const { count, seed, classes = 3, rows = 5, cols = 7, protoSeed = 1, flip = 0.15, labelNoise = 0 } = spec;
  const size = rows * cols;
  const protos = Array.from({ length: classes }, (_, c) => {
    const r = rng(protoSeed, 'prototype', c);
    return Uint8Array.from({ length: size }, () => (r() < 0.5 ? 0 : 255));
  });
  const r = rng(seed, 'examples');
  const images = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = randomInt(r, classes);
    const proto = protos[c]!;
    for (let j = 0; j < size; j++) images[i * size + j] = r() < flip ? 255 - proto[j]! : proto[j]!;
    labels[i] = r() < labelNoise ? randomInt(r, classes) : c;
  }
  return { count, rows, cols, classes, images, labels };
};

/** Writes `ds` as an MNIST-layout pair of IDX files `<name>-images-idx3-ubyte` and `<name>-labels-idx1-ubyte`. */
export const writeIdxPair = (dir: string, name: string, ds: Dataset<Uint8Array>, gzip = false): { images: string; labels: string } => {
  mkdirSync(dir, { recursive: true });
  const ext = gzip ? '.gz' : '';
  const images = join(dir, `${name}-images-idx3-ubyte${ext}`);
  const labels = join(dir, `${name}-labels-idx1-ubyte${ext}`);
  writeFileSync(images, encodeIdx({ dims: [ds.count, ds.rows, ds.cols], data: ds.images }, { gzip }));
  writeFileSync(labels, encodeIdx({ dims: [ds.count], data: ds.labels }, { gzip }));
  return { images, labels };
};
