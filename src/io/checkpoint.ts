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
 * Saving, in this order, so that a kill at any point leaves whole files under the real names:
 *   1. if the current checkpoint is intact, make it the previous one too (a hard link, or a copy, renamed
 *      over prev), so the current name never disappears; a damaged current file is not rotated over a good
 *      previous one;
 *   2. write the new file durably under a temporary name unique to this process and rename it over
 *      `checkpoint.safetensors` (atomic.ts), then fsync the folder.
 * A kill between the new file's last byte and its rename (the first checkpoint has no other copy) leaves a
 * complete temporary file: `loadCheckpoint` finds it by its content hash and puts it in place, and
 * `cleanCheckpointTemporaries` removes what dead processes left.
 *
 * Its law (the round trip through a folder) is stated on `saveCheckpoint` below.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import { stagingPathFor, temporaryPid, writeFileAtomic } from './atomic.js';
import { CHECKPOINT_FORMAT } from './modelCodec.js';
import { contentHash, HASH_KEY, verifyContent } from './contentHash.js';
import { errnoCode, fsError, onceSpaceIsFreed } from './ioError.js';
import { parseJson, toJson } from './json.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export { CHECKPOINT_FORMAT };
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const PREVIOUS_FILE = 'checkpoint.prev.safetensors';
/** The name earlier versions gave a finished checkpoint before its rename. */
const LEGACY_NEXT_FILE = 'checkpoint.next.safetensors';
/** The name earlier versions gave the link that rotates the previous checkpoint (now `stagingPathFor(previous, 'link')`). */
const LEGACY_LINK = /^checkpoint\.prev\.safetensors\.(\d+)\.link$/;

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

/** Makes `current` the previous checkpoint too, without ever removing the name `current`. */
const rotate = async (current: string, previous: string): Promise<void> => {
  const linked = stagingPathFor(previous, 'link');
  await fs.rm(linked, { force: true });
  try {
    await fs.link(current, linked);
  } catch (e) {
    // file systems without hard links: a copy under the temporary name instead
    if (!['EPERM', 'ENOTSUP', 'EXDEV', 'ENOSYS'].includes(errnoCode(e) ?? '')) throw e;
    await fs.copyFile(current, linked);
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
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    return E.left(fsError(dir, 'create the checkpoint folder', e));
  }
  const bytes = encodeCheckpoint(c);
  try {
    if (await exists(current)) {
      const intact = E.isRight(await loadCheckpointFile(current));
      if (intact) await rotate(current, previous);
    }
  } catch (e) {
    return E.left(fsError(previous, 'keep the current checkpoint as the previous one', e));
  }
  const written = await writeFileAtomic(current, bytes);
  // a full disk: the hint says how to keep the work once space is freed (the intact current one is still there)
  return E.isLeft(written) ? E.left(onceSpaceIsFreed(written.left, (await exists(current)) ? `gradpipe train --resume ${dir}` : undefined)) : written;
};

interface Temporary {
  /** The process that made it (undefined for the legacy fixed name). */
  readonly pid: number | undefined;
  readonly name: string;
}

/**
 * The temporary files in a run folder (a checkpoint, model, metrics or lock write killed half way), with the
 * pid that made them: the names `tempPathFor` and `stagingPathFor` make, and earlier versions' fixed names.
 */
const temporaries = async (dir: string): Promise<Temporary[]> => {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names.flatMap((name): Temporary[] => {
    const pid = temporaryPid(name) ?? Number(LEGACY_LINK.exec(name)?.[1] ?? NaN);
    if (!Number.isNaN(pid)) return [{ pid, name }];
    return name === LEGACY_NEXT_FILE ? [{ pid: undefined, name }] : [];
  });
};

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM'; // exists, owned by someone else
  }
};

/**
 * Removes the temporary files that processes no longer running left in the run folder `dir` (a run killed
 * while saving a checkpoint, the model or the metrics); returns their names.
 */
export const cleanCheckpointTemporaries = async (dir: string): Promise<string[]> => {
  const dead = (await temporaries(dir)).filter((t) => t.pid === undefined || !alive(t.pid));
  await Promise.all(dead.map((t) => fs.rm(path.join(dir, t.name), { force: true })));
  return dead.map((t) => t.name);
};

/**
 * When `dir` has no checkpoint but a complete one under a temporary name (a save killed between its last
 * byte and its rename), puts the newest such one in place; returns its former name.
 */
const recoverTemporary = async (dir: string): Promise<string | undefined> => {
  const candidates = (await temporaries(dir)).filter((t) => t.name.startsWith(`.${CHECKPOINT_FILE}.`) || t.name === LEGACY_NEXT_FILE);
  const found: { name: string; mtime: number }[] = [];
  for (const t of candidates) {
    const file = path.join(dir, t.name);
    if (E.isLeft(await loadCheckpointFile(file))) continue; // incomplete: its content hash does not verify
    const st = await fs.stat(file);
    found.push({ name: t.name, mtime: st.mtimeMs });
  }
  const newest = found.sort((a, b) => b.mtime - a.mtime)[0];
  if (newest === undefined) return undefined;
  await fs.rename(path.join(dir, newest.name), path.join(dir, CHECKPOINT_FILE));
  return newest.name;
};

/**
 * Loads `dir/checkpoint.safetensors`. If it is missing or damaged the error says so and, when
 * `checkpoint.prev.safetensors` is intact, tells how to resume from that one instead.
 */
export const loadCheckpoint = async (dir: string): Promise<E.Either<GradpipeError, Checkpoint>> => {
  const current = path.join(dir, CHECKPOINT_FILE);
  if (!(await exists(current))) await recoverTemporary(dir);
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
