/**
 * SHA-256 checksums of IDX files' decompressed contents (`gzip -dc FILE | sha256sum`), so a file checks
 * out whatever gzip settings compressed it, and a raw copy checks out too.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, GradpipeException, type GradpipeError } from '../errors.js';
import { contents, fileSource } from './source.js';

/** File name (without `.gz`) to lowercase hex SHA-256 of its decompressed contents. */
export type Checksums = ReadonlyMap<string, string>;

/** Parses `sha256sum` output (`<hex>  <name>` or `<hex> *<name>` per line; `#` comments, blank lines). */
export const parseChecksums = (text: string, where: string): E.Either<GradpipeError, Checksums> => {
  const sums = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([0-9a-fA-F]{64}) [ *]?(\S.*)$/.exec(line);
    if (m === null) return E.left(dataError(where, `line ${i + 1} is not "<sha256>  <file name>"`, 'fix the checksum list (sha256sum format)'));
    sums.set(m[2]!.replace(/\.gz$/, ''), m[1]!.toLowerCase());
  }
  return E.right(sums);
};

/** Reads and parses a checksum list. */
export const readChecksums = async (file: string): Promise<E.Either<GradpipeError, Checksums>> => {
  try {
    return parseChecksums(await readFile(file, 'utf8'), file);
  } catch (e) {
    return E.left(dataError(file, `cannot read the checksum list (${String((e as { code?: unknown }).code ?? e)})`, 'restore data/mnist.sha256 from the repository'));
  }
};

/** The committed list `data/mnist.sha256`, found from this module whether run from `src/` or `dist/src/`. */
export const defaultChecksumsFile = (): string => {
  const candidates = ['../../data/mnist.sha256', '../../../data/mnist.sha256'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
};

/** The SHA-256 (lowercase hex) of a file's decompressed contents (raw files hash as they are). */
export const contentsSha256 = async (file: string): Promise<E.Either<GradpipeError, string>> => {
  const source = await fileSource(file);
  if (E.isLeft(source)) return source;
  const hash = createHash('sha256');
  try {
    for await (const chunk of contents(source.right)) hash.update(chunk);
  } catch (e) {
    if (e instanceof GradpipeException) return E.left(e.error);
    throw e;
  }
  return E.right(hash.digest('hex'));
};
