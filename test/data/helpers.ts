/** Temporary directories and an Either helper for the data tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { GradpipeError } from '../../src/errors.js';

/** Runs `f` with a fresh temporary directory, removed afterwards. */
export const withTmpDir = async <T>(f: (dir: string) => Promise<T>): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), 'gradpipe-data-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** The Right value, failing the test with the error if it is a Left. */
export const right = <T>(e: E.Either<GradpipeError, T>): T => {
  if (E.isLeft(e)) expect.fail(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};

/** The Left error, failing the test if it is a Right; checks the error is well formed. */
export const left = <T>(e: E.Either<GradpipeError, T>): GradpipeError => {
  if (E.isRight(e)) expect.fail('expected a Left, got a Right');
  const err = e.left;
  expect(err.where.length).toBeGreaterThan(0);
  expect(err.message.length).toBeGreaterThan(0);
  expect(err.hint.length).toBeGreaterThan(0);
  return err;
};
