/**
 * The MNIST directory layout: four IDX files, each stored gzipped (`NAME.gz`) or raw (`NAME`).
 * Fashion-MNIST and other drop-in replacements use the same names.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export type MnistFile = (typeof MNIST_FILES)[keyof typeof MNIST_FILES];

/** The four names, in the order train images, train labels, test images, test labels. */
export const MNIST_NAMES: readonly MnistFile[] = Object.values(MNIST_FILES);

/** Whether `path` is a regular file (false for directories, missing paths, unreadable parents). */
export type Exists = (path: string) => boolean;

/** The default `Exists`, over the real file system. */
export const isFile: Exists = (path) => {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
};

/** Where `name` may be stored in `dir`, most preferred first: the gzip download, then a raw copy. */
export const mnistCandidates = (dir: string, name: string): readonly string[] => [join(dir, `${name}.gz`), join(dir, name)];

/** The first stored copy of `name` in `dir`, if any. */
export const findMnistFile = (dir: string, name: string, exists: Exists = isFile): string | undefined =>
  mnistCandidates(dir, name).find(exists);
