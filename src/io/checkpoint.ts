/**
 * Checkpoints: everything needed to resume training, in one safetensors file per save.
 *
 *   <dir>/checkpoint.safetensors       the latest checkpoint
 *   <dir>/checkpoint.prev.safetensors  the one before it, so one corrupted file never loses all progress
 *
 * The file holds F32 tensors (the network's `layers.{i}.*`, optimiser state such as `opt.{name}.{i}.weight`)
 * and metadata `format: gradpipe-checkpoint/1`, `state` (the caller's JSON: step, epoch, seed, config,
 * random state, metrics history; NaN and Infinity survive, see json.ts) and `sha256` (contentHash.ts).
 *
 * Saving, in this order, so that a crash at any point leaves a loadable latest checkpoint:
 *   1. write the new file durably under a name of this process (`stagingPathFor`, atomic.ts);
 *   2. if the current checkpoint is intact, make it the previous one (hard link, then rename over prev),
 *      so the current name never disappears; a damaged current file is not rotated over a good previous one;
 *   3. rename the new file over `checkpoint.safetensors` and fsync the folder.
 *
 * Law: loadCheckpoint(dir) after saveCheckpoint(dir, c) = c (tensors bit for bit, state as JSON).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import { stagingPathFor, writeFileAtomic } from './atomic.js';
import { contentHash, HASH_KEY, verifyContent } from './contentHash.js';
import { errnoCode, fsError, onceSpaceIsFreed } from './ioError.js';
import { parseJson, toJson } from './json.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'gradpipe-checkpoint/1';
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const PREVIOUS_FILE = 'checkpoint.prev.safetensors';

/** A float32 tensor and its shape. */
export interface F32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Everything a run needs to continue: named float32 tensors (parameters, optimiser moments) and the caller's JSON state. */
export interface Checkpoint {
  readonly tensors: Readonly<Record<string, F32Tensor>>;
  /** Any JSON value; `undefined`, functions and the like cannot be saved. */
  readonly state: unknown;
}

/** The bytes of a checkpoint file. Throws (a programmer error) if `state` has no JSON form. */
export const encodeCheckpoint = (c: Checkpoint): Uint8Array => {
  const tensors: Record<string, Tensor> = Object.fromEntries(
    Object.entries(c.tensors).map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data }]),
  );
  const metadata = { format: CHECKPOINT_FORMAT, state: toJson(c.state) };
  return encodeSafetensors(tensors, { ...metadata, [HASH_KEY]: contentHash(tensors, metadata) });
};

/** Parses and verifies checkpoint bytes read from `file`. */
export const decodeCheckpoint = (bytes: Uint8Array, file: string): E.Either<GradpipeError, Checkpoint> => {
  const decoded = decodeSafetensors(bytes, file);
  const hint = 'restore it, or resume from the previous checkpoint';
  const damaged = (detail: string) => modelError(file, `is corrupted or truncated (${detail})`, hint);
  if (E.isLeft(decoded)) return E.left(damaged(decoded.left.message));
  const { tensors, metadata } = decoded.right;
  const checked = verifyContent(file, tensors, metadata, CHECKPOINT_FORMAT, hint);
  if (E.isLeft(checked)) return checked;
  const out: [string, F32Tensor][] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'F32') return E.left(damaged(`tensor '${name}' is ${t.dtype}, not F32`));
    out.push([name, { shape: t.shape, data: t.data }]);
  }
  let state: unknown;
  try {
    state = parseJson(metadata.state ?? '');
  } catch {
    return E.left(damaged('its state is not valid JSON'));
  }
  return E.right({ tensors: Object.fromEntries(out), state });
};

/** Reads and verifies one checkpoint file. */
export const loadCheckpointFile = async (file: string): Promise<E.Either<GradpipeError, Checkpoint>> => {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    return E.left(fsError(file, 'read the checkpoint', e));
  }
  return decodeCheckpoint(bytes, file);
};

const exists = async (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

/** Makes `current` the previous checkpoint without ever removing the name `current`. */
const rotate = async (current: string, previous: string): Promise<void> => {
  const linked = stagingPathFor(previous, 'link');
  await fs.rm(linked, { force: true });
  try {
    await fs.link(current, linked);
  } catch (e) {
    // file systems without hard links: a plain rename leaves a short window without `current`,
    // during which loadCheckpoint points at the previous file
    if (['EPERM', 'ENOTSUP', 'EXDEV', 'ENOSYS'].includes(errnoCode(e) ?? '')) return fs.rename(current, previous);
    throw e;
  }
  await fs.rename(linked, previous);
};

const fsyncDir = async (dir: string): Promise<void> => {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync().catch((e: unknown) => {
      if (!['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF'].includes(errnoCode(e) ?? '')) throw e;
    });
  } finally {
    await handle.close();
  }
};

/**
 * Saves `c` as `dir/checkpoint.safetensors`, keeping the previous one as `checkpoint.prev.safetensors`; a
 * crash at any point leaves a loadable latest checkpoint.
 *
 * Law: loadCheckpoint(dir) after saveCheckpoint(dir, c) = c (tensors bit for bit, state as JSON).
 */
export const saveCheckpoint = async (dir: string, c: Checkpoint): Promise<E.Either<GradpipeError, void>> => {
  const current = path.join(dir, CHECKPOINT_FILE);
  const previous = path.join(dir, PREVIOUS_FILE);
  const next = stagingPathFor(current, 'next');
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    return E.left(fsError(dir, 'create the checkpoint folder', e));
  }
  const written = await writeFileAtomic(next, encodeCheckpoint(c));
  if (E.isLeft(written)) {
    // the staged name is this process's business: the message names the checkpoint, the hint how to keep the work
    const error = { ...written.left, where: current, message: written.left.message.split(next).join(current) };
    return E.left(onceSpaceIsFreed(error, (await exists(current)) ? `gradpipe train --resume ${dir}` : undefined));
  }
  try {
    if (await exists(current)) {
      const intact = E.isRight(await loadCheckpointFile(current));
      if (intact) await rotate(current, previous);
    }
    await fs.rename(next, current);
    await fsyncDir(dir);
  } catch (e) {
    return E.left(fsError(current, 'put the new checkpoint in place', e));
  }
  return E.right(undefined);
};

/**
 * Loads `dir/checkpoint.safetensors`. If it is missing or damaged the error says so and, when
 * `checkpoint.prev.safetensors` is intact, tells how to resume from that one instead.
 */
export const loadCheckpoint = async (dir: string): Promise<E.Either<GradpipeError, Checkpoint>> => {
  const current = path.join(dir, CHECKPOINT_FILE);
  const loaded = await loadCheckpointFile(current);
  if (E.isRight(loaded)) return loaded;
  const previous = path.join(dir, PREVIOUS_FILE);
  const hasPrevious = await exists(previous);
  if (!hasPrevious || E.isLeft(await loadCheckpointFile(previous))) {
    // the hint offers only what is there: no "resume from the previous checkpoint" when it is missing or damaged too
    if (loaded.left._tag !== 'ModelError') return loaded;
    const why = hasPrevious ? `the previous checkpoint ${previous} is damaged too` : 'there is no previous checkpoint';
    return E.left({ ...loaded.left, hint: `${why}: restore one from a backup, or train again from the start` });
  }
  return E.left({
    ...loaded.left,
    hint: `the previous checkpoint ${previous} is intact: rename it to ${current} to resume from it (losing the progress since then)`,
  });
};
