import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/data/resolve.js';
import { isFile, MNIST_NAMES } from '../../src/data/mnistFiles.js';
import { left, right } from './helpers.js';

const cwd = resolve('/', 'home', 'u', 'proj');
/** A fake file system holding the four files (gz or raw) in each of `complete`, and only `partial` files in others. */
const fsWith = (complete: string[], partial: Record<string, string[]> = {}): ((p: string) => boolean) => {
  const files = new Set<string>();
  complete.forEach((d, i) => MNIST_NAMES.forEach((n) => files.add(join(d, i % 2 === 0 ? `${n}.gz` : n))));
  Object.entries(partial).forEach(([d, names]) => names.forEach((n) => files.add(join(d, n))));
  return (p) => files.has(p);
};
const local = join(cwd, 'data/mnist');
const shared = resolve(cwd, '../shared/datasets/mnist');

describe('resolveDataDir', () => {
  it('takes --data first, relative to the working directory', () => {
    const exists = fsWith([join(cwd, 'mine'), local]);
    expect(right(_.resolveDataDir({ data: 'mine', env: { GRADPIPE_DATA: local }, cwd, exists }))).toEqual({ dir: join(cwd, 'mine'), source: 'option' });
  });

  it('then GRADPIPE_DATA, then data/mnist, then ../shared/datasets/mnist', () => {
    const all = fsWith(['/env/dir', local, shared]);
    expect(right(_.resolveDataDir({ env: { GRADPIPE_DATA: '/env/dir' }, cwd, exists: all }))).toEqual({ dir: '/env/dir', source: 'env' });
    expect(right(_.resolveDataDir({ env: { GRADPIPE_DATA: '' }, cwd, exists: all }))).toEqual({ dir: local, source: 'default' });
    expect(right(_.resolveDataDir({ env: {}, cwd, exists: fsWith([shared]) }))).toEqual({ dir: shared, source: 'default' });
  });

  it('skips a default directory missing a file', () => {
    const exists = fsWith([shared], { [local]: ['train-images-idx3-ubyte.gz'] });
    expect(right(_.resolveDataDir({ env: {}, cwd, exists })).dir).toBe(shared);
  });

  it('lists exactly the paths tried, with what each lacks, and how to get the data', () => {
    const exists = fsWith([], { [local]: MNIST_NAMES.slice(0, 3).map((n) => `${n}.gz`) });
    const e = left(_.resolveDataDir({ env: {}, cwd, exists }));
    expect(e).toMatchObject({ _tag: 'DataError', where: 'data directory' });
    expect(e.message).toBe(`no MNIST data found; tried ${local} (missing t10k-labels-idx1-ubyte[.gz]); ${shared} (missing all four files)`);
    expect(e.hint).toMatch(/gradpipe download/);
    expect(e.hint).toMatch(/--data DIR/);
  });

  it('does not fall back from an explicit --data or GRADPIPE_DATA that lacks the files', () => {
    const exists = fsWith([local]);
    const e = left(_.resolveDataDir({ data: '/typo', env: {}, cwd, exists }));
    expect(e).toMatchObject({ _tag: 'OptionError', where: '--data' });
    expect(e.message).toMatch(/^\/typo \(missing all four files\)/);
    expect(left(_.resolveDataDir({ env: { GRADPIPE_DATA: '/typo' }, cwd, exists })).where).toBe('GRADPIPE_DATA');
  });

  it('over the real file system, finds MNIST from the repository root', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const found = right(_.resolveDataDir({ env: {}, cwd: root, exists: isFile }));
    // data/mnist may hold a download; otherwise the shared folder beside the repository is found.
    expect([join(root, 'data/mnist'), resolve(root, '../shared/datasets/mnist')]).toContain(found.dir);
  });
});
