/**
 * The MNIST directory layout: four IDX files, each stored gzipped (`NAME.gz`) or raw (`NAME`).
 * Fashion-MNIST and other drop-in replacements use the same names.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';

// the names are in mnistNames.ts, which runs in a browser too (this file looks at the disk)
export { MNIST_FILES, MNIST_NAMES, type MnistFile } from './mnistNames.js';

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
